"""Tables of the SQL event log (SQLAlchemy Core), and the version stamp that guards them.

``studies`` holds each study, ``trials`` the little mutable state a trial has (state,
heartbeat, dedup key; the next trial number is one past the largest), ``events`` the
append-only log that `TrialView` replays. Payloads are JSON text written by hyperdial itself
(``NaN`` allowed), never pickles. ``hyperdial_meta`` marks the database as ours and says which
schema it has.

Every trial's write dirties as few pages as it can, since a SQLite commit copies each page it
dirtied to the WAL whole (in a sqlite3 loop of a trial's statements, each page took some 5 us
of the write, two system calls included). On SQLite, ``trials`` is one B-tree keyed by
(study, number) (``WITHOUT ROWID``: a rowid table keeps a second tree for that key), and an
event's id holds its study in the bits above `EVENT_ID_BITS`: a study's events are then one
range of the table's own key, readable without an index on (study, id), whose leaf a commit
would dirty too. Version 1 had both, and a counter on the study row: 6.9 pages a trial
against 2.8, and 1.07x the time of a trial (`sql._upgrade_from_1` rewrites such a file on
opening).
PostgreSQL, whose rows cost no page copy, keeps a serial id and an index.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 2
EVENT_ID_BITS = 40  # SQLite: an event's id is study id << 40 | its number in the study
MAX_SQLITE_STUDY_ID = (1 << (63 - EVENT_ID_BITS)) - 1  # its events' ids fit in 63 bits
APPLICATION = "hyperdial"  # value of the ``application`` row that marks a hyperdial database

metadata = MetaData()

meta = Table(
    "hyperdial_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

studies = Table(
    "studies", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("directions", Text, nullable=False),
    Column("user_attrs", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,  # never reuse the id of a deleted study: stale handles must fail
)

trials = Table(
    "trials", metadata,
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"),
           primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("heartbeat_at", Float, nullable=True),
    Column("key", Text, nullable=True),
    sqlite_with_rowid=False,
)

# Partial indexes: only the few trials they concern pay for them on every write.
# Enqueued trials, so that claiming the oldest one stays cheap (``state`` is in the key so that
# SQLite's planner, which has no statistics, prefers this index to the table's own key):
_waiting = trials.c.state == "WAITING"
Index("ix_trials_waiting", trials.c.study_id, trials.c.state, trials.c.number,
      sqlite_where=_waiting, postgresql_where=_waiting)
# Exclusive proposals (grid points): unique per study.
_keyed = trials.c.key.isnot(None)
Index("ux_trials_key", trials.c.study_id, trials.c.key, unique=True,
      sqlite_where=_keyed, postgresql_where=_keyed)

events = Table(
    "events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("data", Text, nullable=False),
    # SQLite: an event lies in its study's range. A hyperdial of version 1 still running on an
    # upgraded file would give its events the next id of the whole table, in another study's
    # range, silently: this makes that insert fail instead.
    CheckConstraint(f"id >> {EVENT_ID_BITS} = study_id", name="ck_events_in_study_range")
    .ddl_if(dialect="sqlite"),
)
Index("ix_events_study_id", events.c.study_id, events.c.id).ddl_if(dialect="postgresql")

HYPERDIAL_TABLES = frozenset(metadata.tables)
