"""One contract for ``env.store``, run against both backends.

The simulated store (``simulator.SimStore`` through a ``StorePort``) and the real one
(``SqliteStore``) must agree on everything a design can observe, or a design that passes
in simulation could fail for real. Each contract test is written once, as async client
code taking a store, and the ``backend`` fixture runs it as a simulated process or under
trio against a SQLite file.

Where the backends are allowed to differ (concurrency control: optimistic conflict at
commit versus a write lock taken at the start) the shared contract is the property
designs rely on, *no lost update*, and each backend's own behaviour is pinned by a test
of its own at the end of the module.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
import trio

from reference_agent._sqlite_store import SqliteStore
from simulator import Kernel, Process, SimStore, Store, StoreConflict, StorePort, canonical_json

Client = Callable[[Store], Awaitable[Any]]


class Gate(Protocol):
    """A one-shot signal from one client to another."""

    def open(self) -> None: ...
    async def wait(self) -> None: ...


class Backend(Protocol):
    name: str

    def run(self, body: Client) -> Any:
        """Run one client to completion; its result (or its exception)."""

    def run_clients(self, clients: list[Client]) -> list[Any]:
        """Run clients concurrently, each with its own store handle; their results."""

    async def pause(self) -> None:
        """Inside a client: give the other clients time to run."""

    def gate(self) -> Gate: ...

    def dump(self) -> dict[str, dict[str, Any]]: ...


# --- the simulated backend -----------------------------------------------------------
class _SimGate:
    def __init__(self, kernel: Kernel) -> None:
        self._event = kernel.event()

    def open(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


class SimBackend:
    """Each client is a simulated process with its own ``StorePort`` on one SimStore."""

    name = "sim"

    def __init__(self, seed: int) -> None:
        self.kernel = Kernel(seed)
        self.store = SimStore(self.kernel)
        self._clients = 0

    def run(self, body: Client) -> Any:
        return self.run_clients([body])[0]

    def run_clients(self, clients: list[Client]) -> list[Any]:
        results: list[Any] = [None] * len(clients)
        done = [False] * len(clients)
        errors: list[BaseException] = []

        def entry(index: int, client: Client) -> Callable[[Process], Awaitable[None]]:
            async def main(process: Process) -> None:
                try:
                    results[index] = await client(StorePort(self.store, process))
                    done[index] = True
                except Exception as error:  # surfaced to pytest below
                    errors.append(error)
            return main

        for index, client in enumerate(clients):
            self._clients += 1
            Process(self.kernel, f"client{self._clients}", entry(index, client)).start()
        quiescent = self.kernel.run(until=self.kernel.now() + 3600)
        if errors:
            raise errors[0]
        assert quiescent and all(done), "a simulated client never finished"
        return results

    async def pause(self) -> None:
        await self.kernel.sleep(0.01)

    def gate(self) -> Gate:
        return _SimGate(self.kernel)

    def dump(self) -> dict[str, dict[str, Any]]:
        return self.store.dump()


# --- the SQLite backend --------------------------------------------------------------
class _ThreadGate:
    def __init__(self) -> None:
        self._event = threading.Event()

    def open(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        deadline = time.monotonic() + 30
        while not self._event.is_set():
            assert time.monotonic() < deadline, "gate never opened"
            await trio.sleep(0.002)


class SqliteBackend:
    """Each client is a trio program with its own SqliteStore (connection) on one file;
    concurrent clients run in threads, as separate processes would."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _run_one(self, client: Client) -> Any:
        with SqliteStore(self.path) as store:
            return trio.run(client, store)

    def run(self, body: Client) -> Any:
        return self._run_one(body)

    def run_clients(self, clients: list[Client]) -> list[Any]:
        results: list[Any] = [None] * len(clients)
        errors: list[BaseException] = []

        def target(index: int, client: Client) -> None:
            try:
                results[index] = self._run_one(client)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=target, args=(i, c), daemon=True)
                   for i, c in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a SQLite client never finished"
        if errors:
            raise errors[0]
        return results

    async def pause(self) -> None:
        await trio.sleep(0.02)

    def gate(self) -> Gate:
        return _ThreadGate()

    def dump(self) -> dict[str, dict[str, Any]]:
        with SqliteStore(self.path) as store:
            return store.dump()


@pytest.fixture(params=["sim", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sim":
        return SimBackend(seed=7)
    return SqliteBackend(tmp_path / "log.db")


def _non_empty(dump: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    # Which empty tables a dump lists differs (SimStore lists tables that were only read).
    return {table: rows for table, rows in dump.items() if rows}


async def _increment(store: Store, key: str, before_write: Callable[[], Awaitable[None]]
                     | None = None) -> int:
    """Read-modify-write ``counters/key`` until it commits; how many conflicts it met."""
    conflicts = 0
    while True:
        try:
            async with store.transaction() as tx:
                value = tx.get("counters", key) or 0
                if before_write is not None and conflicts == 0:
                    await before_write()
                tx.put("counters", key, value + 1)
            return conflicts
        except StoreConflict:
            conflicts += 1


# --- the contract --------------------------------------------------------------------
VALUES: list[Any] = [
    {"a": 1, "b": [1, 2.5, None, True], "c": {"nested": "x"}},
    [1, "two", 3.0],
    "text with ünïcode and \"quotes\"",
    0,
    -12345678901234567890,
    1.5,
    False,
    {},
]


def test_put_get_round_trip(backend: Backend) -> None:
    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            assert tx.get("items", "absent") is None
            for i, value in enumerate(VALUES):
                tx.put("items", f"k{i}", value)
        for i, value in enumerate(VALUES):
            assert await store.get("items", f"k{i}") == value
        async with store.transaction() as tx:
            for i, value in enumerate(VALUES):
                assert tx.get("items", f"k{i}") == value
            tx.put("items", "k0", {"overwritten": True})
            tx.put("items", "tuple", (1, 2))  # JSON has no tuples: read back as a list
        assert await store.get("items", "k0") == {"overwritten": True}
        assert await store.get("items", "tuple") == [1, 2]
        assert await store.get("items", "absent") is None
        assert await store.get("never_written", "k") is None

    backend.run(body)
    assert backend.dump()["items"]["k1"] == [1, "two", 3.0]


@pytest.mark.parametrize("bad", [{1, 2}, object(), b"bytes", {"nested": {"set": {1}}}])
def test_only_json_values_and_put_fails_at_once(backend: Backend, bad: Any) -> None:
    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            with pytest.raises(TypeError):
                tx.put("items", "bad", bad)
            tx.put("items", "good", 1)
        assert await store.get("items", "bad") is None
        assert await store.get("items", "good") == 1

    backend.run(body)


def test_read_your_writes_inside_a_transaction(backend: Backend) -> None:
    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "committed", "old")
            tx.put("items", "gone", 0)
        async with store.transaction() as tx:
            tx.put("items", "new", {"v": 1})
            tx.put("items", "committed", "updated")
            tx.delete("items", "gone")
            assert tx.get("items", "new") == {"v": 1}
            assert tx.get("items", "committed") == "updated"
            assert tx.get("items", "gone") is None
            assert tx.scan("items") == [("committed", "updated"), ("new", {"v": 1})]
            tx.put("fresh_table", "k", [1])  # a table first written in this transaction
            assert tx.get("fresh_table", "k") == [1]
            assert tx.scan("fresh_table") == [("k", [1])]
        assert await store.scan("items") == [("committed", "updated"), ("new", {"v": 1})]
        assert await store.get("fresh_table", "k") == [1]

    backend.run(body)


def test_uncommitted_writes_are_invisible_to_other_clients(backend: Backend) -> None:
    wrote, peeked, committed = backend.gate(), backend.gate(), backend.gate()

    async def writer(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "k", "v")
            wrote.open()
            await peeked.wait()  # the reader does not need the write lock
        committed.open()

    async def reader(store: Store) -> list[Any]:
        await wrote.wait()
        before = [await store.get("items", "k"), await store.scan("items")]
        peeked.open()
        await committed.wait()
        return [*before, await store.get("items", "k")]

    assert backend.run_clients([writer, reader])[1] == [None, [], "v"]


def test_rollback_on_exception_writes_nothing(backend: Backend) -> None:
    class Boom(Exception):
        pass

    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "kept", 1)
            tx.put("items", "deleted_then_restored", 2)
        with pytest.raises(Boom):
            async with store.transaction() as tx:
                tx.put("items", "kept", 100)
                tx.put("items", "new", 3)
                tx.delete("items", "deleted_then_restored")
                tx.put("new_table", "k", 4)
                raise Boom
        assert await store.scan("items") == [("deleted_then_restored", 2), ("kept", 1)]
        assert await store.scan("new_table") == []
        # The store is usable afterwards, the rolled-back table included.
        async with store.transaction() as tx:
            tx.put("new_table", "k", 5)
        assert await store.get("new_table", "k") == 5

    backend.run(body)
    assert _non_empty(backend.dump()) == {
        "items": {"deleted_then_restored": 2, "kept": 1}, "new_table": {"k": 5}}


def test_scan_is_sorted_by_key_and_filters_by_prefix(backend: Backend) -> None:
    keys = ["b2", "a1", "b10", "c", "b1", "b", "ba", "B", "b\u00e9", "b~"]

    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            for i, key in enumerate(keys):
                tx.put("items", key, i)
            tx.put("other", "b0", "other table")
        everything = await store.scan("items")
        assert [k for k, _ in everything] == sorted(keys)
        assert dict(everything) == {k: i for i, k in enumerate(keys)}
        bs = [k for k, _ in await store.scan("items", "b")]
        assert bs == ["b", "b1", "b10", "b2", "ba", "b~", "b\u00e9"]
        assert [k for k, _ in await store.scan("items", "b1")] == ["b1", "b10"]
        assert await store.scan("items", "zz") == []
        assert await store.scan("no_such_table", "") == []
        async with store.transaction() as tx:
            tx.put("items", "b05", "uncommitted")
            tx.delete("items", "b10")
            assert [k for k, _ in tx.scan("items", "b1")] == ["b1"]
            assert [k for k, _ in tx.scan("items", "b0")] == ["b05"]
            assert tx.scan("items", "b") == sorted(tx.scan("items", "b"))

    backend.run(body)


def test_delete(backend: Backend) -> None:
    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "a", 1)
            tx.put("items", "b", 2)
        async with store.transaction() as tx:
            tx.delete("items", "a")
            tx.delete("items", "never_there")
            tx.delete("no_such_table", "k")
        assert await store.get("items", "a") is None
        assert await store.scan("items") == [("b", 2)]
        async with store.transaction() as tx:  # delete, then write again
            tx.delete("items", "b")
            tx.put("items", "b", 3)
        assert await store.scan("items") == [("b", 3)]

    backend.run(body)


def test_values_are_copies(backend: Backend) -> None:
    """Mutating what get/scan returned, or a value after its commit, changes nothing."""

    async def body(store: Store) -> None:
        value: dict[str, Any] = {"list": [1], "inner": {"x": 1}}
        async with store.transaction() as tx:
            tx.put("items", "k", value)
        value["list"].append("after commit")
        value["new"] = "after commit"
        async with store.transaction() as tx:
            seen = tx.get("items", "k")
            seen["list"].append("after tx.get")
            tx.scan("items")[0][1]["inner"]["x"] = "after tx.scan"
            assert tx.get("items", "k") == {"list": [1], "inner": {"x": 1}}
        got = await store.get("items", "k")
        got["list"].append("after get")
        scanned = await store.scan("items")
        scanned[0][1]["inner"]["x"] = "after scan"
        assert await store.get("items", "k") == {"list": [1], "inner": {"x": 1}}

    backend.run(body)
    assert backend.dump()["items"]["k"] == {"list": [1], "inner": {"x": 1}}


def test_value_is_copied_at_put(backend: Backend) -> None:
    """What is written is the value as it was at ``put``, not at commit."""

    async def body(store: Store) -> None:
        value: dict[str, Any] = {"list": [1], "inner": {"x": 1}}
        async with store.transaction() as tx:
            tx.put("items", "k", value)
            value["list"].append("after put")
            value["inner"]["x"] = "after put"
            assert tx.get("items", "k") == {"list": [1], "inner": {"x": 1}}
        assert await store.get("items", "k") == {"list": [1], "inner": {"x": 1}}

    backend.run(body)


def test_sequential_transactions_see_each_others_commits(backend: Backend) -> None:
    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "k", 1)
        async with store.transaction() as tx:
            assert tx.get("items", "k") == 1
            tx.put("items", "k", 2)
        async with store.transaction() as tx:
            assert tx.get("items", "k") == 2

    backend.run(body)

    async def another_client(store: Store) -> Any:  # a fresh handle, as after a restart
        return await store.get("items", "k")

    assert backend.run(another_client) == 2


def test_no_lost_update_with_interleaved_clients(backend: Backend) -> None:
    """The shared contract: two read-modify-writes that overlap both count.

    The first client reads, then pauses inside its transaction while the second one runs
    a whole increment. SimStore lets the second commit first and makes the first retry
    on StoreConflict; SqliteStore makes the second wait for the first to commit.
    """
    first_read = backend.gate()

    async def first(store: Store) -> int:
        async def in_between() -> None:
            first_read.open()
            await backend.pause()
        return await _increment(store, "c", in_between)

    async def second(store: Store) -> int:
        await first_read.wait()
        return await _increment(store, "c")

    conflicts = backend.run_clients([first, second])
    assert backend.dump()["counters"] == {"c": 2}
    if backend.name == "sim":
        assert conflicts == [1, 0]  # optimistic: the overlapping reader lost and retried
    else:
        assert conflicts == [0, 0]  # pessimistic: the second writer waited


def test_no_lost_update_many_clients(backend: Backend) -> None:
    async def client(store: Store) -> int:
        conflicts = 0
        for _ in range(6):
            conflicts += await _increment(store, "c", backend.pause)
        return conflicts

    backend.run_clients([client] * 4)
    assert backend.dump()["counters"] == {"c": 24}


@pytest.fixture
def both(tmp_path: Path) -> list[Backend]:
    return [SimBackend(seed=3), SqliteBackend(tmp_path / "both.db")]


def test_same_transactions_give_the_same_state(both: list[Backend]) -> None:
    """Both backends end in the same state after the same transactions."""

    async def body(store: Store) -> None:
        for i in range(20):
            async with store.transaction() as tx:
                tx.put("log", f"{i:04d}", {"i": i, "sq": i * i})
                if i % 3 == 0:
                    tx.delete("log", f"{i - 1:04d}")
                tx.put("meta", "last", i)
        try:
            async with store.transaction() as tx:
                tx.put("log", "rolled_back", 1)
                raise KeyError("abort")
        except KeyError:
            pass

    dumps = []
    for backend in both:
        backend.run(body)
        dumps.append(_non_empty(backend.dump()))
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["log"]) == 20 - 6


# --- where the backends differ, by design ------------------------------------------------
def test_sim_conflicting_transactions_raise_store_conflict() -> None:
    """SimStore: tx1 read k, tx2 committed a write to k, so tx1's commit fails whole."""
    sim = SimBackend(seed=1)

    async def body(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "k", 0)
        with pytest.raises(StoreConflict):
            async with store.transaction() as tx1:
                assert tx1.get("items", "k") == 0
                async with store.transaction() as tx2:
                    tx2.put("items", "k", "tx2")
                tx1.put("items", "k", "tx1")
                tx1.put("items", "other", "tx1")
        assert await store.scan("items") == [("k", "tx2")]
        # A transaction whose reads were not changed under it commits.
        async with store.transaction() as tx1:
            tx1.get("items", "k")
            async with store.transaction() as tx2:
                tx2.put("items", "unrelated", 1)
            tx1.put("items", "k", "tx1")
        assert await store.get("items", "k") == "tx1"

    sim.run(body)


def test_sqlite_conflicting_transactions_are_serialised(tmp_path: Path) -> None:
    """SqliteStore: the second writer waits at BEGIN until the first commits, then sees
    the first one's write: no conflict, no lost update."""
    sqlite = SqliteBackend(tmp_path / "log.db")
    first_read = sqlite.gate()
    timings: dict[str, float] = {}

    async def init(store: Store) -> None:
        async with store.transaction() as tx:
            tx.put("items", "k", 0)

    async def first(store: Store) -> None:
        async with store.transaction() as tx1:
            assert tx1.get("items", "k") == 0
            first_read.open()
            await trio.sleep(0.2)
            tx1.put("items", "k", "tx1")
            timings["first_commit"] = time.monotonic()

    async def second(store: Store) -> Any:
        await first_read.wait()
        async with store.transaction() as tx2:
            timings["second_began"] = time.monotonic()
            seen = tx2.get("items", "k")
            tx2.put("items", "k", "tx2")
        return seen

    sqlite.run(init)
    assert sqlite.run_clients([first, second])[1] == "tx1"
    assert timings["second_began"] >= timings["first_commit"]
    assert sqlite.dump()["items"] == {"k": "tx2"}


def test_sqlite_lock_timeout_is_a_store_conflict(tmp_path: Path) -> None:
    """A writer that cannot get the lock within busy_timeout gets StoreConflict at enter,
    having written nothing (same-thread connections: the first cannot finish meanwhile)."""
    path = tmp_path / "log.db"

    async def body() -> None:
        with SqliteStore(path) as holder, SqliteStore(path, busy_timeout_s=0.1) as other:
            async with holder.transaction() as tx:
                tx.put("items", "k", "holder")
                with pytest.raises(StoreConflict):
                    async with other.transaction() as tx2:
                        tx2.put("items", "k", "other")
                assert await other.get("items", "k") is None  # readers are not blocked
            assert await other.get("items", "k") == "holder"
            async with other.transaction() as tx2:
                tx2.put("items", "k", "other")
            assert await holder.get("items", "k") == "other"

    trio.run(body)


def test_sqlite_tasks_sharing_a_store_are_serialised(tmp_path: Path) -> None:
    """Tasks sharing one SqliteStore (one connection) wait for each other's transactions,
    even across awaits inside them, and a read outside transactions waits too."""
    order: list[str] = []

    async def body() -> None:
        with SqliteStore(tmp_path / "log.db") as store:
            async def increment(name: str) -> None:
                async with store.transaction() as tx:
                    order.append(f"{name} begin")
                    value = tx.get("counters", "c") or 0
                    await trio.sleep(0.01)
                    tx.put("counters", "c", value + 1)
                    order.append(f"{name} end")

            async def read() -> None:
                await trio.sleep(0.005)
                order.append(f"read {await store.get('counters', 'c')}")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(increment, "a")
                nursery.start_soon(increment, "b")
                nursery.start_soon(read)
            assert await store.get("counters", "c") == 2

    trio.run(body)
    first, second = order[0].split()[0], order[2].split()[0]
    assert {first, second} == {"a", "b"}
    # No interleaving; the read queued behind both transactions (the lock is fair).
    assert order == [f"{first} begin", f"{first} end", f"{second} begin", f"{second} end",
                     "read 2"]


def test_sqlite_own_transaction_misuse_raises(tmp_path: Path) -> None:
    """What SimStore allows but would deadlock on a write lock raises at once."""

    async def body() -> None:
        with SqliteStore(tmp_path / "log.db") as store:
            async with store.transaction() as tx:
                tx.put("items", "k", 1)
                with pytest.raises(RuntimeError, match=r"tx\.get"):
                    await store.get("items", "k")
                with pytest.raises(RuntimeError):
                    await store.scan("items")
                with pytest.raises(RuntimeError):
                    async with store.transaction():
                        pass
            with pytest.raises(RuntimeError):
                tx.get("items", "k")  # the transaction is closed
            unused = store.transaction()
            with pytest.raises(RuntimeError):
                unused.put("items", "k", 2)  # not entered
            assert await store.get("items", "k") == 1

    trio.run(body)


@pytest.mark.parametrize("name", ["", "Items", "a-b", "a b", 'x"; DROP TABLE t_x; --',
                                  "items\n", "caf\u00e9"])
def test_sqlite_table_names_are_validated(tmp_path: Path, name: str) -> None:
    async def body() -> None:
        with SqliteStore(tmp_path / "log.db") as store:
            with pytest.raises(ValueError, match="table name"):
                await store.get(name, "k")
            with pytest.raises(ValueError, match="table name"):
                await store.scan(name)
            async with store.transaction() as tx:
                for op in (lambda: tx.get(name, "k"), lambda: tx.put(name, "k", 1),
                           lambda: tx.delete(name, "k"), lambda: tx.scan(name)):
                    with pytest.raises(ValueError, match="table name"):
                        op()

    trio.run(body)


def test_sqlite_layout_settings_and_durability(tmp_path: Path) -> None:
    """The file layout other tools may rely on, the durability settings, and that what
    was committed is there when the file is opened again."""
    path = tmp_path / "log.db"

    async def body() -> None:
        with SqliteStore(path) as store:
            conn = store._conn
            assert conn is not None
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
            for value in (1, 2):
                async with store.transaction() as tx:
                    tx.put("items", "k", value)
                    tx.put("items", "v", {"b": 1, "a": [1.5, "\u00e9"]})
            assert store.commits == 2
            assert store.integrity_check() == ["ok"]

    trio.run(body)
    raw = sqlite3.connect(path)
    try:
        columns = [(row[1], row[2], row[3], row[5])
                   for row in raw.execute('PRAGMA table_info("t_items")')]
        assert columns == [("key", "TEXT", 0, 1), ("version", "INTEGER", 1, 0),
                           ("value", "TEXT", 1, 0)]
        assert raw.execute('SELECT key, version, value FROM "t_items" ORDER BY key').fetchall(
            ) == [("k", 2, "2"), ("v", 2, canonical_json({"a": [1.5, "\u00e9"], "b": 1}))]
    finally:
        raw.close()
    with SqliteStore(path) as store:
        assert store.dump() == {"items": {"k": 2, "v": {"a": [1.5, "\u00e9"], "b": 1}}}
