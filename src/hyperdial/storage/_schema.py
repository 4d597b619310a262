"""Tables of the SQL event log (SQLAlchemy Core), and the version stamp that guards them.

``studies`` holds each study and its trial-number counter, ``trials`` the little mutable
state a trial has (state, heartbeat, dedup key), ``events`` the append-only log that
`TrialView` replays. Payloads are JSON text written by hyperdial itself (``NaN`` allowed),
never pickles. ``hyperdial_meta`` marks the database as ours and says which schema it has.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

SCHEMA_VERSION = 1
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
    Column("next_number", Integer, nullable=False, server_default="0"),
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
)

# Partial indexes: only the few trials they concern pay for them on every write.
# Enqueued trials, so that claiming the oldest one stays cheap:
_waiting = trials.c.state == "WAITING"
Index("ix_trials_waiting", trials.c.study_id, trials.c.number,
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
    Index("ix_events_study_id", "study_id", "id"),
)

HYPERDIAL_TABLES = frozenset(metadata.tables)
