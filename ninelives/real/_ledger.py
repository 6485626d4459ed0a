"""The services' own SQLite ledger, and a world rebuilt from it for the checks.

The services process writes every side effect a service performed (each new entry of a
service's ledger list: a charge, a reservation, an email, a chat message, a page, a
restart), every workflow completion and every model answer to its own SQLite file, in
the same step as the effect (before the response leaves). The torture's checks read
that file, not the process's memory: what the ledger says happened is what happened.

``rebuild_world`` builds the scenario's world afresh from the seed (the same customers,
incident and workflows as the services process built) and puts the recorded effects
and completions into it, so that the scenario's own ``final_state`` and
``check_safety`` run on real ground truth unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from typing import Any

from fakes import (
    Charge,
    Chat,
    ChatMessage,
    Email,
    EmailMessage,
    Inventory,
    Ops,
    Page,
    Pager,
    PaymentProvider,
    Reservation,
    Restart,
    Service,
)
from simulator import World, canonical_json

#: service class → (the attribute listing its effects, the record type of each entry)
LEDGERS: tuple[tuple[type[Service], str, type], ...] = (
    (PaymentProvider, "ledger", Charge),
    (Inventory, "reservations", Reservation),
    (Email, "sent", EmailMessage),
    (Chat, "messages", ChatMessage),
    (Pager, "pages", Page),
    (Ops, "restarts", Restart),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, ledger TEXT NOT NULL,
    record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS completions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, workflow TEXT NOT NULL, caller TEXT NOT NULL,
    outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, decision TEXT NOT NULL, idx INTEGER NOT NULL,
    caller TEXT NOT NULL, text TEXT NOT NULL);
"""


def ledger_of(service: Service) -> tuple[str, type] | None:
    """``(attribute, record type)`` of the service's effect list, or None (a read-only
    service)."""
    for cls, attr, record in LEDGERS:
        if isinstance(service, cls):
            return attr, record
    return None


class Ledger:
    """Append-only SQLite tables of effects, completions and model answers.

    WAL and ``synchronous = FULL``: an entry is on disk before the response that
    reports it is sent.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(_SCHEMA)
        self._conn: sqlite3.Connection | None = conn

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"ledger {self.path} is closed")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def add_effects(self, service: str, ledger: str, records: list[Any]) -> None:
        self._write("INSERT INTO effects (service, ledger, record) VALUES (?, ?, ?)",
                    [(service, ledger, canonical_json(dataclasses.asdict(r))) for r in records])

    def add_completion(self, workflow: str, caller: str, outcome: dict[str, Any]) -> None:
        self._write("INSERT INTO completions (workflow, caller, outcome) VALUES (?, ?, ?)",
                    [(workflow, caller, canonical_json(outcome))])

    def add_answer(self, decision: str, index: int, caller: str, text: str) -> None:
        self._write("INSERT INTO answers (decision, idx, caller, text) VALUES (?, ?, ?, ?)",
                    [(decision, index, caller, text)])

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def read_ledger(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything in a ledger file: ``{"effects": {service: [record dict...]},
    "completions": [(workflow, caller, outcome)...], "answers": [...]}`` in order."""
    conn = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)
    try:
        effects: dict[str, list[dict[str, Any]]] = {}
        for service, record in conn.execute(
                "SELECT service, record FROM effects ORDER BY seq"):
            effects.setdefault(service, []).append(json.loads(record))
        completions = [(w, c, json.loads(o)) for w, c, o in conn.execute(
            "SELECT workflow, caller, outcome FROM completions ORDER BY seq")]
        answers = [{"decision": d, "index": i, "caller": c, "text": t} for d, i, c, t in
                   conn.execute("SELECT decision, idx, caller, text FROM answers ORDER BY seq")]
    finally:
        conn.close()
    return {"effects": effects, "completions": completions, "answers": answers}


def _record(cls: type, data: dict[str, Any]) -> Any:
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in fields})


def rebuild_world(scenario: Any, seed: int, ledger_path: str | os.PathLike[str]) -> World:
    """The scenario's world for ``seed``, holding the ledger file's effects and outcomes.

    Only a container for checks (``scenario.final_state``, ``check_safety``): nothing
    runs in it. Inventory stock and the pager's dedup index are recomputed from the
    records so that the services' own views stay consistent.
    """
    world = World(seed)
    scenario.build(world)
    data = read_ledger(ledger_path)
    for name, service in world.services.items():
        spec = ledger_of(service)
        if spec is None:
            continue
        attr, cls = spec
        records = [_record(cls, d) for d in data["effects"].get(name, [])]
        setattr(service, attr, records)
        if isinstance(service, Inventory):
            service.stock = dict(service.initial_stock)
            for r in records:
                service.stock[r.sku] -= r.quantity
        if isinstance(service, Pager):
            service._by_key = {p.dedup_key: p for p in records}
    outcomes: dict[str, dict[str, Any]] = {}
    for workflow, caller, outcome in data["completions"]:
        world.workflows.completions.append((caller, workflow, outcome))
        outcomes.setdefault(workflow, outcome)
    world.workflows.outcomes = outcomes
    return world
