"""Designs for tests/simulator/test_disk.py, at module level: process isolation imports
a design in a fresh interpreter (a zygote), so it must be importable there.

``durable_log`` is a checkout design that keeps its step log in SQLite in its data
directory instead of ``env.store`` (``examples/durable_design.py`` with the store
swapped for a file): resume equivalence holds for it only if the file keeps what was
committed across a crash and the restarted worker can write to it again."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from reference_agent import AGENTS, ProposalError, parse_proposal, review
from simulator import Design, Env, ModelTimeout, ToolError, ToolTimeout


# --- a committed row, an uncommitted one, and a crash between --------------------------
async def _commit_then_hang(env: Env, journal: str) -> None:
    db = sqlite3.connect(env.data_dir / "rows.db", timeout=0.05)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.execute("CREATE TABLE IF NOT EXISTS rows (what TEXT NOT NULL)")
    db.commit()
    seen = sorted(r[0] for r in db.execute("SELECT what FROM rows"))
    # The restarted worker must be able to write: a lock the dead one kept would make
    # this fail ("database is locked") after the 50 ms timeout.
    db.execute("INSERT INTO rows VALUES (?)", (f"started-{env.incarnation}",))
    db.commit()
    async with env.store.transaction() as tx:  # op 1, 3, ...: what this life saw
        tx.put("seen", f"inc{env.incarnation}", seen)
    if env.incarnation == 1:
        db.execute("INSERT INTO rows VALUES ('committed')")
        db.commit()
        db.execute("INSERT INTO rows VALUES ('uncommitted')")  # a transaction left open
        await env.clock.sleep(1.0)  # op 2: the crash lands here
        db.commit()  # never reached
        raise AssertionError("the crash did not land")


async def commit_then_crash(env: Env) -> None:
    """Default (rollback) journal."""
    await _commit_then_hang(env, "DELETE")


async def commit_then_crash_wal(env: Env) -> None:
    """Write-ahead log."""
    await _commit_then_hang(env, "WAL")


async def aio_commit_then_crash(env: Env) -> None:
    """The same with aiosqlite (an asyncio design: inline only for now)."""
    async with aiosqlite.connect(env.data_dir / "rows.db", timeout=0.05) as db:
        await db.execute("CREATE TABLE IF NOT EXISTS rows (what TEXT NOT NULL)")
        await db.commit()
        seen = sorted(r[0] for r in await db.execute_fetchall("SELECT what FROM rows"))
        await db.execute("INSERT INTO rows VALUES (?)", (f"started-{env.incarnation}",))
        await db.commit()
        async with env.store.transaction() as tx:
            tx.put("seen", f"inc{env.incarnation}", seen)
        if env.incarnation == 1:
            await db.execute("INSERT INTO rows VALUES ('committed')")
            await db.commit()
            await db.execute("INSERT INTO rows VALUES ('uncommitted')")
            await env.clock.sleep(1.0)
            await db.commit()
            raise AssertionError("the crash did not land")


async def names_its_dir(env: Env) -> None:
    """Writes its name into its data directory and reports what the directory held."""
    before = sorted(p.name for p in env.data_dir.iterdir())
    (env.data_dir / "me").write_text(env.process_name)
    async with env.store.transaction() as tx:
        tx.put("dirs", f"{env.process_name}/{env.incarnation}", {
            "before": before, "me": (env.data_dir / "me").read_text()})


async def fails_with_a_file(env: Env) -> None:
    """Leaves a file and a database behind, then raises (the process dies of it)."""
    (env.data_dir / "left.txt").write_text("x")
    sqlite3.connect(env.data_dir / "left.db").execute("CREATE TABLE t (x)")
    raise RuntimeError("boom")


async def sql_clock(env: Env) -> None:
    """Reads SQLite's clock and randomness, 20 virtual seconds apart."""
    db = sqlite3.connect(env.data_dir / "clock.db")
    first = db.execute(
        "SELECT datetime('now'), CURRENT_TIMESTAMP, unixepoch(), strftime('%s'), random(),"
        " hex(randomblob(4)), datetime('now', '+1 day'), date()").fetchone()
    await env.clock.sleep(20)
    later = db.execute("SELECT datetime('NOW'), unixepoch('now')").fetchone()
    async with env.store.transaction() as tx:
        tx.put("sql", "now", [*first, *later])


# --- a durable step log in SQLite ---------------------------------------------------------
class _SyncLog:
    def __init__(self, env: Env) -> None:
        self.db = sqlite3.connect(env.data_dir / "log.db")
        self.db.execute("CREATE TABLE IF NOT EXISTS log (k TEXT PRIMARY KEY, v TEXT)")
        self.db.commit()

    async def get(self, key: str) -> Any:
        row = self.db.execute("SELECT v FROM log WHERE k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    async def put(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO log VALUES (?, ?)", (key, json.dumps(value)))
        self.db.commit()


class _AioLog:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    @classmethod
    async def open(cls, env: Env) -> _AioLog:
        db = await aiosqlite.connect(env.data_dir / "log.db")
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("CREATE TABLE IF NOT EXISTS log (k TEXT PRIMARY KEY, v TEXT)")
        await db.commit()
        return cls(db)

    async def get(self, key: str) -> Any:
        async with self.db.execute("SELECT v FROM log WHERE k = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else json.loads(row[0])

    async def put(self, key: str, value: Any) -> None:
        await self.db.execute("INSERT OR REPLACE INTO log VALUES (?, ?)",
                              (key, json.dumps(value)))
        await self.db.commit()


async def _work(env: Env, log: Any) -> None:
    reported: set[str] = set()
    while True:
        timers: list[float] = []
        for wf in await env.tasks.list():
            wid = wf["id"]
            if wid in reported:
                continue
            done = await log.get(f"done/{wid}")
            if done is None:
                done = await _run(env, log, wf)
            if isinstance(done, float):
                timers.append(done)
                continue
            await env.tasks.complete(wid, done)
            reported.add(wid)
        if not timers:
            return
        await env.clock.sleep(max(0.0, min(timers) - env.clock.now()))


async def _run(env: Env, log: Any, wf: dict[str, Any]) -> dict[str, Any] | float:
    wid, history, step = wf["id"], [], 0
    spec = AGENTS[wf["kind"]]
    while True:
        record = await log.get(f"steps/{wid}/{step}")
        if record is None:
            request = {"decision": f"{wid}/step-{step}", "agent": wf["kind"],
                       "workflow": wid, "input": wf["input"], "history": history}
            try:
                proposal = parse_proposal(await env.model.complete(request, timeout=60))
            except (ModelTimeout, ProposalError):
                continue
            if review(spec, wf["input"], proposal, history) is not None:
                continue
            record = {"proposal": proposal.model_dump(mode="json")}
            if proposal.action == "wait":
                record["wake_at"] = env.clock.now() + proposal.seconds
            await log.put(f"steps/{wid}/{step}", record)
        action = record["proposal"]
        if "result" not in record:
            if action["action"] == "finish":
                await log.put(f"done/{wid}", action["outcome"])
                return action["outcome"]  # type: ignore[no-any-return]
            if action["action"] == "wait":
                if env.clock.now() < record["wake_at"]:
                    return record["wake_at"]  # type: ignore[no-any-return]
                record["result"] = {"ok": True}
            else:
                record["result"] = await _call(env, action, f"{wid}/step-{step}")
            await log.put(f"steps/{wid}/{step}", record)
        item: dict[str, Any] = {"step": step, "ok": record["result"]["ok"]}
        if action["action"] == "call":
            item.update(tool=action["tool"], args=action["args"], **{
                k: v for k, v in record["result"].items() if k in ("response", "error")})
        else:
            item["wait"] = action.get("seconds")
        history.append(item)
        step += 1


async def _call(env: Env, action: dict[str, Any], key: str) -> dict[str, Any]:
    delay = 1.0
    while True:
        try:
            response = await env.tools.call(action["tool"], action["args"],
                                            idempotency_key=key, timeout=10)
            return {"ok": True, "response": response}
        except ToolTimeout:
            pass
        except ToolError as error:
            if error.status not in (409, 429, 503):
                return {"ok": False, "error": json.loads(json.dumps(error.body))}
        await env.clock.sleep(delay)
        delay = min(delay * 2, 60.0)


async def durable_log_main(env: Env) -> None:
    await _work(env, _SyncLog(env))


async def aio_durable_log_main(env: Env) -> None:
    log = await _AioLog.open(env)
    try:
        await _work(env, log)
    finally:
        await log.db.close()


DURABLE_LOG = Design(name="sqlite-log", main=durable_log_main,
                     description="the durable example with its step log in SQLite")
AIO_DURABLE_LOG = Design(name="aiosqlite-log", main=aio_durable_log_main,
                         description="the same with aiosqlite")
