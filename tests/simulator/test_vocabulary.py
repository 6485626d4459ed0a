"""Every trace event is recorded and read through one vocabulary (simulator/_vocabulary.py).

A kind or a field renamed in one place and not another would turn an invariant's or
``check``'s verdict wrong without an error (a reader's ``data.get("fault")`` just returns
None). So the sources are scanned: every ``trace.record`` names a ``TraceKind`` member
and exactly that kind's fields; no module spells a kind as a bare string; every
``TraceKind.X`` exists; a reader of ``(t, component, kind, data)`` reads only fields that
the kinds it matched have. And runs of every design and scenario record nothing else.
"""

from __future__ import annotations

import ast
import functools
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_agent import DESIGNS, FLAWED, load_design
from scenarios import SCENARIOS, run_seed
from simulator import TRACE_VOCABULARY, TraceKind, trace_fields

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("simulator", "fakes", "faults", "scenarios", "reference_agent", "ninelives",
            "examples")
VOCABULARY = ROOT / "simulator" / "_vocabulary.py"
KIND_VALUES = {k.value for k in TraceKind}
FAMILIES = {k.value.partition(".")[0] for k in TraceKind if "." in k.value}

#: (file, string) where a string equal to a kind means something else
NOT_A_TRACE_KIND: dict[tuple[str, str], str] = {
    ("faults/_types.py", "crash"): "the Crash fault's kind",
    ("faults/_types.py", "pause"): "the Pause fault's kind",
    ("faults/_hooks.py", "crash"): "fault kinds ordered at one port operation",
    ("faults/_hooks.py", "pause"): "fault kinds ordered at one port operation",
    ("faults/_swarm.py", "crash"): "the swarm's fault kinds",
    ("faults/_swarm.py", "pause"): "the swarm's fault kinds",
    ("faults/_guide.py", "crash"): "the fault kinds a guided plan aims at an operation",
    ("faults/_guide.py", "pause"): "the fault kinds a guided plan aims at an operation",
    ("ninelives/engine/_explore.py", "crash"): "the fault kind explore plans",
    ("ninelives/engine/_check.py", "crash"): "the crash experiment family of check",
    ("simulator/_store.py", "store.commit"): "the port operation a fault hook sees",
}


@functools.cache
def sources() -> dict[str, ast.Module]:
    found = {}
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            if path != VOCABULARY:
                found[str(path.relative_to(ROOT))] = ast.parse(path.read_text())
    return found


def module_of(rel: str) -> Any:
    parts = list(Path(rel).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return importlib.import_module(".".join(parts))


def docstrings(tree: ast.Module) -> set[int]:
    """ids of the constants that are docstrings (prose may name kinds)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value,
                                                                     ast.Constant):
                out.add(id(body[0].value))
    return out


def kind_aliases(tree: ast.Module) -> set[str]:
    """Names that mean ``TraceKind`` in this module (``import ... as K``, ``K = TraceKind``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names if a.name == "TraceKind"}
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)
              and node.value.id == "TraceKind"):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def member_of(node: ast.AST, aliases: set[str]) -> str | None:
    """``X`` when ``node`` is ``TraceKind.X`` (or an alias's ``.X``)."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in aliases):
        return node.attr
    return None


def record_calls() -> Iterator[tuple[str, ast.Call]]:
    for rel, tree in sources().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record"):
                continue
            receiver = node.func.value
            name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(
                receiver, "id", "")
            if name in ("trace", "_trace"):
                yield rel, node


def test_every_record_call_names_a_kind_and_exactly_its_fields() -> None:
    problems, recorded = [], set()
    for rel, call in record_calls():
        where = f"{rel}:{call.lineno}"
        member = member_of(call.args[1], kind_aliases(sources()[rel])) if len(
            call.args) > 1 else None
        if member is None or member not in TraceKind.__members__:
            problems.append(f"{where}: the kind is not a TraceKind member")
            continue
        kind = TraceKind[member]
        recorded.add(kind)
        if any(k.arg is None for k in call.keywords):
            problems.append(f"{where}: **fields hide what {kind} records")
            continue
        got = {k.arg for k in call.keywords}
        if got != set(trace_fields(kind)):
            problems.append(f"{where}: {kind} records {sorted(got)}, the vocabulary "
                            f"says {sorted(trace_fields(kind))}")
    assert not problems, "\n".join(problems)
    # and the vocabulary lists nothing that nobody records
    assert recorded == set(TraceKind), sorted(set(TraceKind) - recorded)


def test_no_module_spells_a_kind_as_a_bare_string() -> None:
    problems = []
    for rel, tree in sources().items():
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in KIND_VALUES and id(node) not in skip
                    and (rel, node.value) not in NOT_A_TRACE_KIND):
                problems.append(f"{rel}:{node.lineno}: {node.value!r} (use TraceKind)")
    assert not problems, "\n".join(problems)


def _compared_strings(node: ast.AST) -> Iterator[ast.Constant]:
    """The string constants a comparison or a ``startswith``/``endswith`` matches."""
    operands: list[ast.AST] = []
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and node.func.attr in ("startswith", "endswith")):
        operands = list(node.args)
    for operand in operands:
        items = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [
            operand]
        for item in items:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                yield item


def test_no_comparison_matches_a_kind_the_vocabulary_lacks() -> None:
    # "tool.requets", or a kind renamed in the vocabulary but not here: a dotted string
    # of a trace family compared with anything is a kind spelt by hand.
    problems = []
    for rel, tree in sources().items():
        for node in ast.walk(tree):
            for const in _compared_strings(node):
                family, dot, _ = const.value.partition(".")
                if dot and family in FAMILIES:
                    problems.append(f"{rel}:{const.lineno}: compares with {const.value!r}")
    assert not problems, "\n".join(problems)


def test_every_kind_named_in_the_sources_exists() -> None:
    problems = []
    for rel, tree in sources().items():
        aliases = kind_aliases(tree)
        for node in ast.walk(tree):
            member = member_of(node, aliases)
            if member is not None and member not in TraceKind.__members__:
                problems.append(f"{rel}:{node.lineno}: TraceKind.{member} does not exist")
    assert not problems, "\n".join(problems)


# --- readers: the fields read after matching a kind -------------------------------------


def _event_names(target: ast.AST) -> Iterator[tuple[str, str]]:
    """(kind name, data name) of every ``(t, component, kind, data)`` in a target."""
    if isinstance(target, ast.Tuple):
        elts = target.elts
        if len(elts) == 4 and all(isinstance(e, ast.Name) for e in elts[2:]):
            yield elts[2].id, elts[3].id  # type: ignore[attr-defined]
        for e in elts:
            yield from _event_names(e)


class _Reader:
    """Walks one function that unpacks trace events, tracking which kinds each branch
    matched, and collects the fields read off the event's data there."""

    def __init__(self, module: Any, kind: str, data: str) -> None:
        self.module, self.kind, self.data = module, kind, data
        self.reads: list[tuple[int, str, frozenset[str] | None]] = []

    def resolve(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return getattr(self.module, node.id)
        if isinstance(node, ast.Attribute):
            return getattr(self.resolve(node.value), node.attr)
        if isinstance(node, ast.Tuple | ast.Set | ast.List):
            return [self.resolve(e) for e in node.elts]
        raise ValueError(ast.dump(node))

    def matched(self, test: ast.AST) -> frozenset[str] | None:
        """The kinds ``test`` (or its first conjunct on the kind) lets through."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            for value in test.values:
                if (kinds := self.matched(value)) is not None:
                    return kinds
            return None
        if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                and test.left.id == self.kind and len(test.ops) == 1):
            value = self.resolve(test.comparators[0])
            if isinstance(test.ops[0], ast.Eq):
                return frozenset({value})
            if isinstance(test.ops[0], ast.In):
                return frozenset(value)
        return None

    def expr(self, node: ast.AST, kinds: frozenset[str] | None) -> None:
        for sub in ast.walk(node):
            field = None
            if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr == "get" and isinstance(sub.func.value, ast.Name)
                    and sub.func.value.id == self.data and sub.args
                    and isinstance(sub.args[0], ast.Constant)):
                field = sub.args[0].value
            elif (isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name)
                  and sub.value.id == self.data and isinstance(sub.slice, ast.Constant)):
                field = sub.slice.value
            elif (isinstance(sub, ast.Compare) and isinstance(sub.left, ast.Constant)
                  and len(sub.comparators) == 1 and isinstance(sub.comparators[0], ast.Name)
                  and sub.comparators[0].id == self.data):
                field = sub.left.value
            if field is not None:
                self.reads.append((sub.lineno, field, kinds))

    def block(self, body: list[ast.stmt], kinds: frozenset[str] | None) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If):
                inner = self.matched(stmt.test)
                self.expr(stmt.test, inner if inner is not None else kinds)
                self.block(stmt.body, inner if inner is not None else kinds)
                self.block(stmt.orelse, kinds)
            elif isinstance(stmt, ast.For | ast.While | ast.With | ast.Try):
                for name in ("iter", "test", "items"):
                    part = getattr(stmt, name, None)
                    if isinstance(part, ast.AST):
                        self.expr(part, kinds)
                for name in ("body", "orelse", "finalbody"):
                    self.block(getattr(stmt, name, []), kinds)
                for handler in getattr(stmt, "handlers", []):
                    self.block(handler.body, kinds)
            else:
                self.expr(stmt, kinds)


def reader_functions() -> Iterator[tuple[str, ast.FunctionDef, str, str]]:
    for rel, tree in sources().items():
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                targets = ([node.target] if isinstance(node, ast.For | ast.comprehension)
                           else node.targets if isinstance(node, ast.Assign) else [])
                for target in targets:
                    for kind, data in _event_names(target):
                        yield rel, fn, kind, data


def test_readers_read_only_fields_their_kinds_have() -> None:
    problems, readers = [], set()
    for rel, fn, kind, data in reader_functions():
        reader = _Reader(module_of(rel), kind, data)
        reader.block(fn.body, None)
        if reader.reads:
            readers.add(f"{rel}::{fn.name}")
        for line, field, kinds in reader.reads:
            where = f"{rel}:{line}"
            if kinds is None:
                if not any(field in spec.fields for spec in TRACE_VOCABULARY.values()):
                    problems.append(f"{where}: no kind has a field {field!r}")
                continue
            for k in sorted(kinds):
                if field not in trace_fields(k):
                    problems.append(f"{where}: reads {field!r} of {k}, which has "
                                    f"{list(trace_fields(k))}")
    assert not problems, "\n".join(problems)
    # the scan found the readers whose verdicts matter (it is not vacuous)
    assert {"scenarios/_invariants.py::model_once_per_decision",
            "scenarios/_situations.py::situations", "ninelives/engine/_check.py::_analyse",
            "ninelives/reports/_describe.py::describe",
            "ninelives/reports/_describe.py::implicated"} <= readers, sorted(readers)


def test_the_reader_scan_catches_a_field_read_off_the_wrong_kind() -> None:
    # The scan itself, on a reader that reads ``status`` (a response's) off a request.
    tree = ast.parse(
        "def f(events):\n"
        "    for _t, _c, kind, data in events:\n"
        "        if kind == TraceKind.TOOL_REQUEST and data.get('status') == 200:\n"
        "            pass\n"
        "        elif kind in (TraceKind.TOOL_RESPONSE, TraceKind.TOOL_TIMEOUT):\n"
        "            data['status']\n")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef)
    reader = _Reader(importlib.import_module("simulator"), "kind", "data")
    reader.block(fn.body, None)
    wrong = [(line, field) for line, field, kinds in reader.reads
             if kinds and any(field not in trace_fields(k) for k in kinds)]
    assert wrong == [(3, "status"), (6, "status")]  # tool.timeout has no status either


# --- runs: what is recorded ---------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_runs_record_only_the_vocabulary(scenario: str) -> None:
    seen: set[str] = set()
    problems = []
    for design in sorted({*DESIGNS, *FLAWED}):
        for seed in range(3):
            result = run_seed(SCENARIOS[scenario], load_design(design), seed,
                              keep_world=True)
            assert result.world is not None
            for t, _component, kind, data in result.world.kernel.trace.raw():
                if type(kind) is not TraceKind:
                    problems.append(f"{design} seed {seed} t={t}: {kind!r} is not a "
                                    "TraceKind member")
                elif set(data) != set(trace_fields(kind)):
                    problems.append(f"{design} seed {seed} t={t}: {kind} has "
                                    f"{sorted(data)}, not {sorted(trace_fields(kind))}")
                seen.add(kind)
            result.world.dispose()
    assert not problems, "\n".join(problems[:20])
    # a run of any scenario goes through the common kinds at least
    assert {TraceKind.TOOL_REQUEST, TraceKind.MODEL_ANSWER, TraceKind.STORE_COMMIT,
            TraceKind.FAULT_FIRED, TraceKind.WORKFLOW_COMPLETE} <= seen
