"""Scheduler leadership: of all the processes that may run the periodic jobs, one does at a time.

`siyu serve` runs a scheduler by default, and a scale-out installation may run several serves and a
`siyu scheduler`. Without a leader each of them enqueued every periodic job (outbox sweeper, calendar tick,
playbook steps, interaction closing, alert checks) once a minute, so N processes ran each job N times. Now a
process enqueues periodic jobs only while it holds a lock that is released when it stops or dies:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection for the life
  of the process. A crash closes the connection and the server drops the lock at once; a vanished host is noticed
  by TCP keepalives within about half a minute (set on that connection). The connection must reach PostgreSQL
  directly or through a session-pooling proxy: a transaction-pooling pgbouncer cannot hold session locks.
- SQLite: an exclusive `flock` on `<database file>.scheduler.lock` beside the database (one machine, like SQLite
  itself); the kernel drops it when the process exits in any way.

Followers try again every `leader_retry_seconds`, and the leader re-checks that it still holds its lock as often
and right before it enqueues, so when the leader goes another process takes over within that time. Around a
handover one minute's periodic jobs may be enqueued twice (or, rarely, once less): every periodic job is
idempotent (keys, conditional updates) and catches up on the next minute.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from siyu.config import Settings

log = logging.getLogger("siyu.scheduler")

# One lock per database (PostgreSQL advisory locks are scoped to the current database): a stable 64-bit number
# derived from a name, so every siyu version agrees on it.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"siyu.scheduler.leader").digest()[:8], "big", signed=True)


def _me() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class Leader:
    """A lock that at most one process holds; `check` says whether this process holds it, trying to take it
    when it is free. Subclasses implement the lock itself."""

    kind = "lock"

    def __init__(self, *, retry_s: float) -> None:
        self.retry_s = max(retry_s, 0.0)
        self._held = False
        self._next = 0.0  # monotonic time of the next attempt (follower) or re-check (leader)
        self._reported_holder: str | None = ""

    @property
    def held(self) -> bool:
        """Whether this process held the lock at the last check (no database or file access)."""
        return self._held

    def check(self, *, verify: bool = False) -> bool:
        """True while this process is the leader. A follower tries to take the lock at most every `retry_s`;
        the leader confirms it still holds it as often, or now when `verify` is set (before enqueueing)."""
        now = time.monotonic()
        if self._held:
            if verify or now >= self._next:
                self._next = now + self.retry_s
                if not self._safely(self._still_held):
                    self._held = False
                    self._drop()
                    log.warning("scheduler: lost the leader %s (%s); periodic jobs stop here until it is "
                                "taken again", self.kind, self.describe())
            return self._held
        if now < self._next:
            return False
        self._next = now + self.retry_s
        if self._safely(self._try_acquire):
            self._held = True
            self._reported_holder = ""
            log.info("scheduler: this process (%s) is the leader and runs the periodic jobs (%s)",
                     _me(), self.describe())
            return True
        self._drop_if_broken()
        holder = self._safely_str(self.holder)
        if holder != self._reported_holder:
            self._reported_holder = holder
            log.info("scheduler: standing by; %s holds the leader %s and runs the periodic jobs; this "
                     "process takes over when it stops", holder or "another process", self.kind)
        return False

    def close(self) -> None:
        """Give the lock up (a stopping process lets a follower take over at once)."""
        was = self._held
        self._held = False
        self._drop()
        if was:
            log.info("scheduler: gave up the leader %s", self.kind)

    def describe(self) -> str:
        return self.kind

    def _safely(self, fn: Callable[[], bool]) -> bool:
        try:
            return bool(fn())
        except Exception as exc:  # the database is away: not the leader now, try again later
            log.warning("scheduler: could not check the leader %s: %s", self.kind, exc)
            self._drop()
            return False

    def _safely_str(self, fn: Callable[[], str | None]) -> str | None:
        try:
            value = fn()
        except Exception:
            return None
        return str(value) if value else None

    # The lock itself -------------------------------------------------------------------------------------------
    def _try_acquire(self) -> bool:
        raise NotImplementedError

    def _still_held(self) -> bool:
        raise NotImplementedError

    def _drop(self) -> None:
        """Release the lock (if held) and whatever holds it open."""

    def _drop_if_broken(self) -> None:
        """After a failed attempt: close a connection / file that can no longer be used."""

    def holder(self) -> str | None:
        """Who holds the lock, for the operator's log; None when unknown."""
        return None


class SoleLeader(Leader):
    """For a database no other process can open (in-memory SQLite): this process is always the leader."""

    kind = "sole process"

    def _try_acquire(self) -> bool:
        return True

    def _still_held(self) -> bool:
        return True


class PostgresLeader(Leader):
    """A session-level advisory lock on its own connection (not from the pool, never inside a transaction)."""

    kind = "PostgreSQL advisory lock"

    def __init__(self, url: str, *, retry_s: float, key: int = LOCK_KEY) -> None:
        super().__init__(retry_s=retry_s)
        self.key = key
        self._url = make_url(url)
        self._engine = create_engine(
            url, poolclass=NullPool,
            connect_args={
                "application_name": f"siyu scheduler {_me()}"[:63],
                "connect_timeout": 10,
                # The server drops a dead client's session (and so the lock) after ~25 s instead of ~2 hours.
                "options": "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
            })
        self._conn: Connection | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.key} on database {self._url.database!r} at {self._url.host or 'localhost'}"

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _try_acquire(self) -> bool:
        return bool(self._connection().execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())

    def _lock_row(self) -> str:
        # pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
        return ("l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid) "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")

    def _key_parts(self) -> dict[str, int]:
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}

    def _still_held(self) -> bool:
        if self._conn is None:
            return False
        return bool(self._conn.execute(text(
            f"SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {self._lock_row()} AND l.pid = pg_backend_pid())"),
            self._key_parts()).scalar())

    def holder(self) -> str | None:
        row = self._connection().execute(text(
            "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            f"WHERE {self._lock_row()}"), self._key_parts()).first()
        if row is None:
            return None
        name, addr = row
        return f"{name or 'a process'}{f' ({addr})' if addr else ''}"

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # Ending the session releases the lock too, but only once the server has noticed; unlocking first
            # lets a follower take over on its very next try.
            if not conn.invalidated:
                conn.execute(text("SELECT pg_advisory_unlock_all()"))
        except Exception:
            log.debug("unlocking before closing the leader connection failed", exc_info=True)
        try:
            conn.close()  # NullPool: closing the connection ends the session
        except Exception:
            log.debug("closing the leader connection failed", exc_info=True)

    def _drop_if_broken(self) -> None:
        if self._conn is not None and self._conn.invalidated:
            self._drop()

    def close(self) -> None:
        super().close()
        self._engine.dispose()


class FileLeader(Leader):
    """An exclusive flock on a file beside the SQLite database; the file says who holds it."""

    kind = "file lock"

    def __init__(self, path: Path, *, retry_s: float) -> None:
        super().__init__(retry_s=retry_s)
        self.path = path
        self._fd: int | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.path}"

    def _try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{_me()}\n".encode())
        self._fd = fd
        return True

    def _still_held(self) -> bool:
        # Someone deleting the file would let a second process lock a new file of the same name.
        if self._fd is None:
            return False
        try:
            return os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def holder(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def _drop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # the file stays: removing it would race with the next process locking it


def lock_path_for(db_url: str) -> Path | None:
    """Where the SQLite leader lock of a database lives (None for an in-memory database)."""
    database = make_url(db_url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".scheduler.lock")


def leader_for(settings: Settings) -> Leader:
    """The leader lock of the installation `settings` point at."""
    url = settings.db_url
    if url.startswith("postgresql"):
        return PostgresLeader(url, retry_s=settings.leader_retry_seconds)
    path = lock_path_for(url)
    if path is None:
        return SoleLeader(retry_s=settings.leader_retry_seconds)
    return FileLeader(path, retry_s=settings.leader_retry_seconds)
