"""Fixtures shared by the whole test suite.

PostgreSQL: tests marked ``postgres`` take `pg_url`, a fresh empty schema each (1 ms, against
350 ms for a new database). The server is ``HYPERDIAL_TEST_PG_URL`` when set (it must allow
CREATE SCHEMA); otherwise a throwaway cluster started from the local PostgreSQL binaries for
this session (INFRA.md §3); otherwise those tests are skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_MISSING = "PostgreSQL not available: install postgresql or set HYPERDIAL_TEST_PG_URL"


def _pg_bin() -> Path | None:
    """The newest local PostgreSQL server binaries, if any."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()]
    return max(found, key=lambda p: int(p.parent.name)) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL server's maintenance database, for the whole session."""
    url = os.environ.get("HYPERDIAL_TEST_PG_URL")
    if url:
        yield url
        return
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip(PG_MISSING)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = tempfile.mkdtemp(prefix="hyperdial-pg-")
    if as_postgres:  # initdb refuses to run as root
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    options = (f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")

    def pg(tool: str, *args: str) -> None:
        subprocess.run([*as_postgres, str(pg_bin / tool), *args], check=True,
                       capture_output=True, timeout=120)

    try:
        pg("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        pg("pg_ctl", "-D", data, "-l", f"{data}/server.log", "-w", "-o", options, "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """URL of a new, empty PostgreSQL schema (its ``search_path``), dropped after the test."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(pg_server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"hyperdial_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(autouse=True, scope="session")
def _pythons_ctrl_c() -> Iterator[None]:
    """Python's own Ctrl-C handler, which the Ctrl-C tests send SIGINT to: a shell starts a
    background job with SIGINT ignored (``pytest &``, ``nohup``), and Python then installs
    none, so those tests failed with "DID NOT RAISE KeyboardInterrupt" there."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous is not None:  # (None: a handler set from C, which cannot be put back)
        signal.signal(signal.SIGINT, previous)
