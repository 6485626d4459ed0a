"""Simulated durable storage: what is committed survives a crash, nothing else does.

One ``SimStore`` is shared by a design's process group (its database). Each process
incarnation reaches it through its own ``StorePort`` (``env.store``). Values are kept as
sorted-key JSON text (``_json.snapshot``), so a design that mutates a dict after writing
it cannot change what was "written to disk" — a real database would not let it either.

Transactions are optimistic: reads record the version they saw; commit fails with
``StoreConflict`` if another commit changed one of them. That is what lets a fencing
token (a version check on a lease row) stop a worker that woke up after its lease ran out.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._errors import StoreConflict
from ._json import load_snapshot as _load
from ._json import snapshot
from ._vocabulary import TraceKind

if TYPE_CHECKING:
    from ._kernel import Kernel
    from ._process import Process

class SimStore:
    """The durable state: tables of key -> JSON text, with a version per key."""

    def __init__(self, kernel: Kernel, name: str = "store") -> None:
        self.kernel = kernel
        self.name = name
        self._tables: dict[str, dict[str, tuple[int, bytes | str]]] = {}
        # Per table, its keys in sorted order: a prefix scan is a bisect and a walk over
        # the matching keys, not a pass over the whole table and a sort.
        self._sorted: dict[str, list[str]] = {}
        self._version = 0
        self.commits = 0
        #: tables whose rows are append-only by convention; a rewrite with a different
        #: value is remembered (the single-result-per-step invariant reads it)
        self.watched: frozenset[str] = frozenset({"steps"})
        self._overwrites: list[tuple[str, str, Any, Any, int]] = []
        #: called with the committing process's name after every commit with writes
        self.on_commit: Callable[[str], None] | None = None
        #: called with the process's name when one of its transactions is rolled back
        #: (an exception left the block, or the commit met a conflict)
        self.on_rollback: Callable[[str], None] | None = None

    def _table(self, table: str) -> dict[str, tuple[int, bytes | str]]:
        t = self._tables.get(table)
        if t is None:
            t = self._tables[table] = {}
            self._sorted[table] = []
        return t

    def read(self, table: str, key: str) -> tuple[int, Any]:
        """(version, value) of a committed key; (0, None) if absent."""
        entry = self._table(table).get(key)
        if entry is None:
            return 0, None
        return entry[0], _load(entry[1])

    def scan_committed(self, table: str, prefix: str = "") -> list[tuple[str, int, Any]]:
        rows = self._table(table)
        keys = self._sorted[table]
        out = []
        for i in range(bisect_left(keys, prefix), len(keys)):
            key = keys[i]
            if not key.startswith(prefix):
                break  # keys with the prefix are contiguous in sorted order
            version, text = rows[key]
            out.append((key, version, _load(text)))
        return out

    def apply(self, reads: dict[tuple[str, str], int], writes: dict[tuple[str, str], Any]) -> int:
        """Commit ``writes`` (``snapshot`` text, or the delete marker) if no key in
        ``reads`` changed version since it was read; else raise StoreConflict."""
        for (table, key), version in reads.items():
            entry = self._table(table).get(key)
            current = 0 if entry is None else entry[0]
            if current != version:
                raise StoreConflict(f"{table}/{key} changed since it was read")
        self._version += 1
        v = self._version
        for (table, key), value in writes.items():
            if value is _DELETE:
                if self._table(table).pop(key, None) is not None:
                    keys = self._sorted[table]
                    del keys[bisect_left(keys, key)]
            else:
                text = value
                rows = self._table(table)
                if key not in rows:
                    insort(self._sorted[table], key)
                if table in self.watched:
                    old = rows.get(key)
                    if old is not None and old[1] != text:
                        self._overwrites.append((table, key, _load(old[1]),
                                                 _load(text), self.kernel.now_ns))
                rows[key] = (v, text)
        self.commits += 1
        return v

    def overwrites(self, table: str) -> list[tuple[str, Any, Any, int]]:
        """Rows of a watched table rewritten with a different value: (key, old, new, t)."""
        return [(k, old, new, t) for (tb, k, old, new, t) in self._overwrites if tb == table]

    def clear(self) -> None:
        """Forget everything (a disposed world)."""
        self._tables.clear()
        self._overwrites.clear()
        self._sorted.clear()

    def dump(self) -> dict[str, dict[str, Any]]:
        """Every committed table, for checks and reports (sorted keys)."""
        return {
            name: {k: _load(t[k][1]) for k in sorted(t)}
            for name, t in sorted(self._tables.items())
        }


#: a deleted key among a transaction's writes: ``snapshot`` never gives None, and None
#: crosses a pipe unchanged (a process-isolated child buffers its writes the same way)
_DELETE = None


class BufferedTransaction:
    """Reads see committed state plus this transaction's own writes, which stay here
    until the commit. How committed state is read is the subclass's (``_read``,
    ``_committed``): from the store itself, or across a pipe (``simulator/_child.py``)."""

    __slots__ = ("_reads", "_writes", "committed_version")

    def __init__(self) -> None:
        self._reads: dict[tuple[str, str], int] = {}
        self._writes: dict[tuple[str, str], Any] = {}
        self.committed_version = 0

    def _read(self, table: str, key: str) -> tuple[int, Any]:
        """(version, value) of one committed key."""
        raise NotImplementedError

    def _committed(self, table: str, prefix: str) -> Iterable[tuple[str, int, Any]]:
        """(key, version, value) of the committed keys of ``table`` under ``prefix``."""
        raise NotImplementedError

    def get(self, table: str, key: str) -> Any:
        k = (table, key)
        if k in self._writes:
            text = self._writes[k]
            return None if text is _DELETE else _load(text)
        version, value = self._read(table, key)
        self._reads.setdefault(k, version)
        return value

    def put(self, table: str, key: str, value: Any) -> None:
        # Serialised now: fails in the design's code if it is not JSON, and a later
        # mutation of ``value`` cannot change what gets written (as on SQLite).
        self._writes[(table, key)] = snapshot(value)

    def delete(self, table: str, key: str) -> None:
        self._writes[(table, key)] = _DELETE

    def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        rows = {}
        for k, version, value in self._committed(table, prefix):
            self._reads.setdefault((table, k), version)
            rows[k] = value
        for (t, k), value in self._writes.items():
            if t == table and k.startswith(prefix):
                if value is _DELETE:
                    rows.pop(k, None)
                else:
                    rows[k] = _load(value)
        return sorted(rows.items())


class Transaction(BufferedTransaction):
    """A transaction on the simulated store, by one process's ``env.store``."""

    __slots__ = ("_port",)

    def __init__(self, port: StorePort) -> None:
        super().__init__()
        self._port = port

    def _read(self, table: str, key: str) -> tuple[int, Any]:
        return self._port._store.read(table, key)

    def _committed(self, table: str, prefix: str) -> Iterable[tuple[str, int, Any]]:
        return self._port._store.scan_committed(table, prefix)

    async def __aenter__(self) -> Transaction:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        port = self._port
        store = port._store
        if exc_type is not None:
            # Rolled back: nothing was written. What the process was about to record
            # (a model answer, say) it has given up on (scenarios/_invariants.py).
            store.kernel.trace.record(port._process.name, TraceKind.STORE_ROLLBACK,
                                      store=store.name, error=exc_type.__name__)
            if store.on_rollback is not None:
                store.on_rollback(port._process.name)
            return
        await port._process.port_op("store.commit", {"writes": len(self._writes)})
        trace = store.kernel.trace
        try:
            self.committed_version = store.apply(self._reads, self._writes)
        except StoreConflict:
            trace.record(port._process.name, TraceKind.STORE_CONFLICT, store=store.name)
            if store.on_rollback is not None:
                store.on_rollback(port._process.name)
            raise
        if self._writes:
            trace.record(port._process.name, TraceKind.STORE_COMMIT, store=store.name,
                         keys=[f"{t}/{k}" for (t, k) in self._writes])
            if store.on_commit is not None:
                store.on_commit(port._process.name)


class StorePort:
    """``env.store``: a process incarnation's handle on the shared durable store."""

    def __init__(self, store: SimStore, process: Process) -> None:
        self._store = store
        self._process = process

    def transaction(self) -> Transaction:
        """``async with env.store.transaction() as tx:`` — commits at the end."""
        return Transaction(self)

    async def get(self, table: str, key: str) -> Any:
        await self._process.port_op("store.get")
        return self._store.read(table, key)[1]

    async def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        await self._process.port_op("store.scan")
        return [(k, v) for k, _, v in self._store.scan_committed(table, prefix)]
