"""Real-mode durable storage: the ``env.store`` port on SQLite.

``SqliteStore`` offers the API of the simulated store (``simulator.StorePort``) with the
same value semantics, so a design's code runs unchanged on trio against a file on disk:

- ``async with store.transaction() as tx:`` with sync ``tx.get/put/delete/scan``; the
  transaction commits when the block exits normally and writes nothing if it raises;
- ``await store.get(table, key)`` and ``await store.scan(table, prefix)`` read committed
  state outside transactions;
- values are JSON, stored as canonical JSON text: a non-JSON value fails at ``put``, and
  what a caller holds is always a copy, never the stored value itself.

Durability: WAL journal with ``synchronous=FULL``, so a transaction whose ``async with``
has exited survives SIGKILL and power loss, and one that had not exited leaves nothing
(``tests/reference_agent/test_sqlite_kill.py`` kills a writer mid-transaction to check it).

Where the backends differ (each behaviour is pinned by a test in
``tests/reference_agent/test_store_contract.py``):

- **Concurrency control.** SimStore is optimistic: conflicting transactions both run,
  and the later commit raises ``StoreConflict``. SqliteStore is pessimistic: entering a
  transaction takes the database's write lock (``BEGIN IMMEDIATE``), so transactions of
  all processes are serialised and a conflicting one simply waits for the first to
  finish. Both give the property designs rely on: no lost update. SqliteStore raises
  ``StoreConflict`` only when it could not get the lock within ``busy_timeout_s``, and it
  raises it when the ``async with`` is *entered*, not at commit. Either way nothing was
  written and the whole transaction may be retried, so a design's retry-on-conflict loop
  serves both backends.
- **Tasks sharing one store.** Tasks of one trio program that share a ``SqliteStore``
  share its one connection; they are serialised by an async lock, so a second task's
  transaction (or ``store.get``/``store.scan``) waits while a first task's transaction is
  open, even across awaits inside it. SimStore lets them overlap optimistically.
- **Inside one's own transaction** ``await store.get``/``store.scan``, and nesting a
  second transaction, raise ``RuntimeError`` (they would deadlock on the write lock);
  use ``tx.get``/``tx.scan``. SimStore allows both.
- **A transaction object** must be entered before use and is closed after its block.
- **Blocking.** The methods are ``async def`` so that the port has one shape in both
  modes, and they await only to wait for another task of the same program. The SQLite
  calls themselves block the thread: transactions are small and local, and waiting for
  another *process* that holds the write lock blocks for up to ``busy_timeout_s``.
- **Runtime.** It must run under trio (the real-mode runtime), from the thread that made
  it: one connection, opened by the constructor.

Layout: one SQL table per logical table, ``"t_<name>"`` with ``(key TEXT PRIMARY KEY,
version INTEGER NOT NULL, value TEXT NOT NULL)``, created by the first write to it.
``version`` counts the writes to a key (1 on insert); logical table names must match
``[a-z0-9_]+`` so that they can be spliced into SQL safely.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from types import TracebackType
from typing import Any

import trio

from simulator import StoreConflict, canonical_json

__all__ = ["SqliteStore", "SqliteTransaction"]

_TABLE_NAME = re.compile(r"[a-z0-9_]+")
_SQL_PREFIX = "t_"


def _sql_table(table: str) -> str:
    """The quoted SQL name of a logical table; ValueError if the name is not allowed."""
    if not isinstance(table, str) or _TABLE_NAME.fullmatch(table) is None:
        raise ValueError(f"table name must match [a-z0-9_]+, got {table!r}")
    return f'"{_SQL_PREFIX}{table}"'


def _check_key(key: str) -> None:
    if not isinstance(key, str):
        raise TypeError(f"keys are strings, got {type(key).__name__}")


def _is_busy(error: sqlite3.Error) -> bool:
    """True when SQLite gave up waiting for a lock another connection holds."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(error) or "busy" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _set_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> str:
    """Switch the file to WAL (persistent; a no-op once done), retrying while busy.

    Switching needs an exclusive lock, and SQLite reports it busy at once, without its
    busy handler, when other connections are opening the same new file at that moment.
    """
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SqliteStore:
    """A durable key/value store in one SQLite file: ``env.store`` in real mode.

    Open one per process (its one connection); several processes may open the same file
    and their transactions are serialised. ``close()`` it, or use it as a ``with`` block.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.busy_timeout_s = busy_timeout_s
        #: transactions committed through this store (other processes' are not counted)
        self.commits = 0
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_s)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            mode = _set_wal(conn, busy_timeout_s)
            if mode != "wal" and self.path != ":memory:":
                raise RuntimeError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn
        self._lock = trio.Lock()
        self._tx: SqliteTransaction | None = None
        # Logical tables known to exist in committed state (tables are never dropped).
        self._tables: set[str] = set()

    def __repr__(self) -> str:
        return f"<SqliteStore {self.path}>"

    # --- the port ---------------------------------------------------------------------
    def transaction(self) -> SqliteTransaction:
        """``async with store.transaction() as tx:`` — commits when the block exits."""
        return SqliteTransaction(self)

    async def get(self, table: str, key: str) -> Any:
        """The committed value of ``key`` (a fresh copy), or None if absent."""
        _sql_table(table)
        _check_key(key)
        async with self._reading():
            return self._select(table, key, ())

    async def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        """Committed ``(key, value)`` pairs whose key starts with ``prefix``, by key."""
        _sql_table(table)
        async with self._reading():
            return self._select_prefix(table, prefix, ())

    # --- checks and life cycle --------------------------------------------------------
    def dump(self) -> dict[str, dict[str, Any]]:
        """Every table's committed rows, for checks and reports (sorted names and keys).

        Like ``SimStore.dump()``; a table whose rows were all deleted is listed empty.
        Call it with no transaction open on this store.
        """
        conn = self._connection()
        if conn.in_transaction:
            raise RuntimeError("dump() while a transaction is open on this store")
        conn.execute("BEGIN")  # one snapshot across tables
        try:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            out: dict[str, dict[str, Any]] = {}
            for name in names:
                if not name.startswith(_SQL_PREFIX):
                    continue
                table = name[len(_SQL_PREFIX):]
                if _TABLE_NAME.fullmatch(table) is None:
                    continue
                rows = conn.execute(f"SELECT key, value FROM {_sql_table(table)} ORDER BY key")
                out[table] = {key: json.loads(text) for key, text in rows}
            return out
        finally:
            conn.execute("COMMIT")

    def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check``: ``["ok"]`` when the file is sound."""
        return [row[0] for row in self._connection().execute("PRAGMA integrity_check")]

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back). Idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"{self!r} is closed")
        return conn

    def _check_not_own_transaction(self, what: str) -> None:
        tx = self._tx
        if tx is not None and tx._task is trio.lowlevel.current_task():
            raise RuntimeError(
                f"{what} inside this task's own open transaction on {self!r}: "
                "use tx.get/tx.scan (SQLite serialises transactions; this would deadlock)")

    def _reading(self) -> _Reading:
        self._check_not_own_transaction("store.get/store.scan")
        return _Reading(self)

    def _exists(self, table: str, created: set[str] | tuple[()]) -> bool:
        if table in self._tables or table in created:
            return True
        row = self._connection().execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (_SQL_PREFIX + table,)).fetchone()
        if row is None:
            return False
        # Not created by the caller's open transaction, so committed by someone.
        self._tables.add(table)
        return True

    def _select(self, table: str, key: str, created: set[str] | tuple[()]) -> Any:
        if not self._exists(table, created):
            return None
        row = self._connection().execute(
            f"SELECT value FROM {_sql_table(table)} WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _select_prefix(self, table: str, prefix: str,
                       created: set[str] | tuple[()]) -> list[tuple[str, Any]]:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix is a string, got {type(prefix).__name__}")
        if not self._exists(table, created):
            return []
        rows: list[tuple[str, Any]] = []
        # Keys with the prefix are contiguous from ``prefix`` on (UTF-8 byte order is code
        # point order, which is also Python's string order).
        cursor = self._connection().execute(
            f"SELECT key, value FROM {_sql_table(table)} WHERE key >= ? ORDER BY key",
            (prefix,))
        for key, text in cursor:
            if not key.startswith(prefix):
                break
            rows.append((key, json.loads(text)))
        cursor.close()
        return rows


class _Reading:
    """Holds the store's task lock around a read outside transactions."""

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def __aenter__(self) -> None:
        await self._store._lock.acquire()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._store._lock.release()


class SqliteTransaction:
    """One SQLite transaction: reads see committed state plus this transaction's writes."""

    __slots__ = ("_created", "_state", "_store", "_task")

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._state = "new"
        self._task: object | None = None
        # Tables this transaction created: they exist only if it commits.
        self._created: set[str] = set()

    # --- the transaction's operations -------------------------------------------------
    def get(self, table: str, key: str) -> Any:
        """The value of ``key`` as this transaction sees it (a fresh copy), or None."""
        _sql_table(table)
        _check_key(key)
        self._check_open()
        return self._store._select(table, key, self._created)

    def put(self, table: str, key: str, value: Any) -> None:
        """Write ``value`` (JSON; anything else raises here, not at commit)."""
        text = canonical_json(value)
        name = _sql_table(table)
        _check_key(key)
        conn = self._check_open()
        store = self._store
        if not store._exists(table, self._created):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {name} "
                         "(key TEXT PRIMARY KEY, version INTEGER NOT NULL, value TEXT NOT NULL)")
            self._created.add(table)
        conn.execute(
            f"INSERT INTO {name} (key, version, value) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET version = version + 1, value = excluded.value",
            (key, text))

    def delete(self, table: str, key: str) -> None:
        """Remove ``key`` (nothing happens if it is absent)."""
        name = _sql_table(table)
        _check_key(key)
        conn = self._check_open()
        if self._store._exists(table, self._created):
            conn.execute(f"DELETE FROM {name} WHERE key = ?", (key,))

    def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, sorted by key."""
        _sql_table(table)
        self._check_open()
        return self._store._select_prefix(table, prefix, self._created)

    # --- life cycle -------------------------------------------------------------------
    async def __aenter__(self) -> SqliteTransaction:
        if self._state != "new":
            raise RuntimeError("a transaction object can be entered only once")
        store = self._store
        store._check_not_own_transaction("a nested transaction")
        conn = store._connection()
        await store._lock.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            store._lock.release()
            if _is_busy(error):
                raise StoreConflict(
                    f"{store.path}: another writer held the database for more than "
                    f"{store.busy_timeout_s} s") from error
            raise
        except BaseException:
            store._lock.release()
            raise
        self._state = "open"
        self._task = trio.lowlevel.current_task()
        store._tx = self
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        store = self._store
        conn = store._connection()
        try:
            if exc_type is not None:
                conn.execute("ROLLBACK")  # nothing was written
                return
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if _is_busy(error):
                    raise StoreConflict(f"{store.path}: commit could not get its lock") from error
                raise
            store._tables |= self._created
            store.commits += 1
        finally:
            self._state = "closed"
            self._task = None
            store._tx = None
            store._lock.release()

    def _check_open(self) -> sqlite3.Connection:
        if self._state != "open":
            raise RuntimeError(
                "use the transaction inside `async with store.transaction() as tx:` "
                f"(it is {self._state})")
        return self._store._connection()
