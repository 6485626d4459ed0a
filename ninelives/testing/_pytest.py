"""The ninelives pytest plugin: fault-injection seed sweeps inside a user's own test suite.

Registered through the ``pytest11`` entry point, so installing ninelives is enough::

    @pytest.mark.ninelives(scenario="checkout", design="myapp.agent:design", seeds=200)
    def test_checkout_survives_faults(ninelives_result):
        # optional: check the sweep reached what it is meant to test
        assert ninelives_result.situations["charge-response-lost-after-commit"] > 0

The marked test runs the engine's sweep (``ninelives.engine.sweep``, the one behind
``ninelives run``, in this process) over its seeds before its body; the first failing
seed fails it with the invariant, the evidence and the two commands that reproduce it
(``pytest <nodeid> --ninelives-seed S`` and ``ninelives replay ...``).
``--ninelives-seeds N`` resizes every sweep, ``--ninelives-seed S`` runs exactly one
seed. ``chunks=K`` (or ``--ninelives-chunks K``) splits a sweep into K test items so
that pytest-xdist spreads them over its workers. The fixture
``ninelives_sweep(scenario, design, ...)`` does the same from inside a test, for sweeps
whose arguments are computed or parametrised. A "ninelives" section at the end of the
terminal report lists, per test, the seeds run, the failing seeds and the first one.

Why the module is written the way it is:

- pytest imports every ``pytest11`` plugin in every session, including sessions of
  projects that never use ninelives. So nothing heavy is imported here at module level
  (no simulator, pydantic or Hypothesis); the harness is imported inside the functions
  that run a sweep (``tests/ninelives/testing/test_plugin_import.py``).
- Under pytest-xdist the controller, which prints the terminal report, never sees the
  workers' items, only their reports. Each sweep's summary therefore travels as a JSON
  string in ``item.user_properties`` (serialised with the report), and the summary
  section is built from reports in ``pytest_runtest_logreport``, which runs on the
  controller as well as in a plain session (``test_plugin_xdist.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from ..engine import parse_int, require_at_least, require_count, require_seed
from ..errors import InputError

if TYPE_CHECKING:
    from scenarios import RunResult, Violation

MARKER = "ninelives"
#: the key of a sweep summary in ``user_properties`` (and of its JUnit XML property)
PROPERTY = "ninelives"
#: the hidden parameter that carries a seed chunk (``chunks=K``)
CHUNK_PARAM = "_ninelives_chunk"

DEFAULT_SEEDS = 100
DEFAULT_MAX_FAILURES = 5
#: at most this many faults of the failing plan are listed in a failure message
PLAN_LINES = 8

_MARKER_KEYS = ("scenario", "design", "seeds", "first_seed", "max_failures", "chunks",
                "isolation")
_MARKER_DOC = (
    "ninelives(scenario, design='reference', seeds=100, first_seed=0, max_failures=5, "
    "chunks=1, isolation=None): run a ninelives fault-injection seed sweep of `scenario` "
    "against `design` "
    "(a registered name or package.module:attr) and fail on the first broken invariant "
    "with the commands that reproduce it; isolation='process' runs each incarnation in a "
    "real OS process (default: inline for a registered design, process for any other)"
)


# --- the sweep ------------------------------------------------------------------------------


@dataclass
class SweepSummary:
    """What one sweep did: the seeds run, the runs that broke an invariant, and totals.

    ``failures`` holds the failing runs (at most ``max_failures``; the sweep stops after
    that many), each a ``scenarios.RunResult`` without its world. ``situations`` sums, over
    every run, how often each situation of interest was reached (``scenarios.SITUATIONS``),
    so a test can assert that the sweep really exercised what it is meant to.
    """

    scenario: str
    design: str
    #: how many seeds the sweep was asked to run (after ``--ninelives-seeds``/``-seed``)
    seeds_requested: int
    #: the seeds actually run, in order (fewer than requested when it stopped early)
    seeds: list[int] = field(default_factory=list)
    failures: list[RunResult] = field(default_factory=list)
    situations: dict[str, int] = field(default_factory=dict)
    #: faults that fired, summed over the runs
    faults_fired: int = 0
    #: kernel events run, summed over the runs
    events: int = 0
    #: virtual seconds simulated, summed over the runs
    virtual_s: float = 0.0
    #: True when the sweep stopped at ``max_failures`` before running every seed
    stopped_early: bool = False
    #: why a seed of the sweep, run twice more, did not give the same run; None when it
    #: did or was not checked (``ninelives.engine._reproduce``)
    nondeterminism: str | None = None
    #: where the design's code ran: "inline" or "process"
    isolation: str = "inline"

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def seeds_run(self) -> int:
        return len(self.seeds)

    @property
    def failing_seeds(self) -> list[int]:
        return [r.seed for r in self.failures]

    @property
    def first_failure(self) -> RunResult | None:
        return self.failures[0] if self.failures else None

    @property
    def violations(self) -> list[Violation]:
        """Every violation of every failing run, in seed order."""
        return [v for r in self.failures for v in r.violations]

    def brief(self, nodeid: str = "") -> dict[str, Any]:
        """The JSON-able digest the terminal summary is built from."""
        first = self.first_failure
        return {
            "nodeid": nodeid, "scenario": self.scenario, "design": self.design,
            "seeds_requested": self.seeds_requested, "seeds_run": self.seeds_run,
            "failing_seeds": self.failing_seeds,
            "first_failing_seed": first.seed if first else None,
            "invariant": first.violations[0].invariant if first else None,
            "stopped_early": self.stopped_early,
        }


def run_sweep(
    scenario: str,
    design: str,
    seeds: Iterable[int],
    *,
    max_failures: int | None = DEFAULT_MAX_FAILURES,
    on_run: Callable[[RunResult], None] | None = None,
    check_reproducible: bool = True,
    isolation: str | None = None,
) -> SweepSummary:
    """Run ``scenario`` against ``design`` for each seed with its swarm fault plan.

    ``design`` is a registered name or ``package.module:attr`` (``load_design``). The
    sweep is the engine's (``ninelives.engine.sweep``, in this process, one ``Baselines``
    cache for the whole sweep); this keeps each failing run's whole ``RunResult`` for
    the failure message. Stops after ``max_failures`` failing seeds (None: never). Then,
    unless ``check_reproducible`` is False, the first failing seed (else the first seed)
    is run twice more: if that is not the same run, ``nondeterminism`` says how. Raises
    ``ScenarioError``/``DesignError`` for bad names.
    ``isolation``: "inline" or "process" (default: ``scenarios.default_isolation``,
    process isolation for a design that is not registered).
    """
    # Imported here, not at module level: see the module docstring.
    from scenarios import SITUATIONS

    from ..engine import default_isolation, sweep

    isolation = default_isolation(design, isolation)

    seed_list = list(seeds)
    failures: list[RunResult] = []

    def seen(result: RunResult) -> None:
        if not result.ok:
            failures.append(result)
        if on_run is not None:
            on_run(result)

    done = sweep(scenario, design, seed_list, workers=1, check_reproducible=check_reproducible,
                 stop_after=max_failures, on_result=seen, isolation=isolation)
    hits = done.tally.hits
    return SweepSummary(
        scenario=scenario, design=design, seeds_requested=len(seed_list),
        seeds=seed_list[:done.runs], failures=failures,
        situations={name: hits.get(name, 0) for name in SITUATIONS} if done.runs else {},
        faults_fired=done.tally.faults_fired, events=done.tally.events,
        virtual_s=done.tally.virtual_ns / 1e9, stopped_early=done.stopped_early,
        nondeterminism=done.nondeterminism, isolation=isolation)


# --- failure messages -------------------------------------------------------------------------


def rerun_command(nodeid: str, seed: int) -> str:
    """The pytest command line that reruns exactly ``seed`` of the test ``nodeid``."""
    from scenarios import shell_command

    return shell_command("pytest", nodeid, f"--{MARKER}-seed", seed)


def failure_message(summary: SweepSummary, test_id: str) -> str:
    """The text a failing sweep fails its test with: the broken invariant, its evidence,
    the faults that fired, and, last, the commands that reproduce the first failing seed
    (``test_id`` is what to hand pytest to select the test)."""
    from scenarios import EVIDENCE_CHARS, INVARIANTS, one_line, repro_command

    first = summary.first_failure
    assert first is not None, "failure_message needs a failing sweep"
    seed = first.seed
    violation = first.violations[0]
    failing = ", ".join(map(str, summary.failing_seeds))
    tally = f"{len(summary.failures)} of the {summary.seeds_run} seeds run"
    if summary.stopped_early:
        tally += (f"; stopped at max_failures, {summary.seeds_requested - summary.seeds_run}"
                  f" of {summary.seeds_requested} seeds not run")
    lines = [
        f"ninelives: {summary.scenario} x {summary.design} broke {violation.invariant} "
        f"at seed {seed}",
        f"  failing seeds: {failing} ({tally})",
        f"  {violation.headline()}",
    ]
    meaning = INVARIANTS.get(violation.invariant)
    if meaning:
        lines.append(f"  invariant: {meaning}")
    lines.append(f"  evidence: {one_line(violation.evidence, EVIDENCE_CHARS)}")
    for other in first.violations[1:]:
        lines.append(f"  also: {other.headline()}")
    plan = first.plan
    fired = [plan.faults[i].describe() for i in first.fired]
    lines.append(f"  fault plan of seed {seed}: {len(plan.faults)} fault(s), "
                 f"{len(fired)} fired{':' if fired else ''}")
    lines += [f"    - {text}" for text in fired[:PLAN_LINES]]
    if len(fired) > PLAN_LINES:
        lines.append(f"    ... and {len(fired) - PLAN_LINES} more")
    if summary.nondeterminism:
        lines.append(f"  warning: {summary.nondeterminism}")
    lines += [
        "reproduce with:",
        f"  {rerun_command(test_id, seed)}",
        # the design as the test named it: a ``package.module:attr`` spec replay can
        # load, not its Design.name, which it may not
        "  " + repro_command(summary.scenario, summary.design, seed,
                            isolation=summary.isolation),
    ]
    return "\n".join(lines)


# --- options, marker, sweep plan -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    # No type=: the values are checked in pytest_configure with the validators every
    # front door uses (``_option``), not by argparse's "invalid int value".
    group = parser.getgroup("ninelives", "ninelives fault-injection sweeps")
    group.addoption("--ninelives-seeds", default=None, metavar="N",
                    help="run N seeds in every ninelives sweep (overrides seeds=)")
    group.addoption("--ninelives-seed", default=None, metavar="S",
                    help="run exactly seed S in every ninelives sweep (to reproduce a failure)")
    group.addoption("--ninelives-chunks", default=None, metavar="K",
                    help="split every marked sweep into K test items (for pytest-xdist)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)
    for name in ("ninelives_seed", "ninelives_seeds", "ninelives_chunks"):
        _option(config, name)  # a bad value is a usage error now, not in every test
    config.pluginmanager.register(_SummarySection(), "ninelives-summary")


@dataclass(frozen=True)
class _MarkerArgs:
    scenario: str
    design: str
    seeds: int
    first_seed: int
    max_failures: int | None
    chunks: int
    isolation: str | None = None


def _marker_args(marker: pytest.Mark, where: str) -> _MarkerArgs:
    """Validate the marker's arguments (a usage error names the test)."""
    if len(marker.args) > 2:
        raise pytest.UsageError(f"{where}: @pytest.mark.ninelives takes at most two "
                                "positional arguments (scenario, design)")
    kwargs = dict(zip(("scenario", "design"), marker.args, strict=False))
    for key, value in marker.kwargs.items():
        if key not in _MARKER_KEYS:
            raise pytest.UsageError(f"{where}: @pytest.mark.ninelives got an unknown "
                                    f"argument {key!r} (known: {', '.join(_MARKER_KEYS)})")
        if key in kwargs:
            raise pytest.UsageError(f"{where}: @pytest.mark.ninelives got {key!r} twice")
        kwargs[key] = value
    scenario = kwargs.get("scenario")
    design = kwargs.get("design", "reference")
    if not isinstance(scenario, str) or not scenario:
        raise pytest.UsageError(f"{where}: @pytest.mark.ninelives needs scenario=NAME")
    if not isinstance(design, str) or not design:
        raise pytest.UsageError(f"{where}: design= must be a name or package.module:attr")
    ints = {k: kwargs.get(k, d) for k, d in (("seeds", DEFAULT_SEEDS), ("first_seed", 0),
                                              ("max_failures", DEFAULT_MAX_FAILURES),
                                              ("chunks", 1))}
    for key, value in ints.items():
        if key == "max_failures" and value is None:
            continue
        try:
            require_at_least(value, 0 if key == "first_seed" else 1, key)
        except InputError as exc:
            raise pytest.UsageError(f"{where}: @pytest.mark.ninelives {exc}") from None
    isolation = kwargs.get("isolation")
    if isolation not in (None, "inline", "process"):
        raise pytest.UsageError(f"{where}: @pytest.mark.ninelives isolation= must be "
                                f"'inline' or 'process', not {isolation!r}")
    return _MarkerArgs(scenario, design, ints["seeds"], ints["first_seed"],
                       ints["max_failures"], ints["chunks"], isolation)


def _option(config: pytest.Config, name: str) -> int | None:
    """The value of the option ``name`` (``ninelives_seeds``), checked: a seed for
    ``--ninelives-seed``, a count for the others; a bad one is a usage error."""
    value = config.getoption(name)
    if value is None:
        return None
    option = "--" + name.replace("_", "-")
    check = require_seed if name == "ninelives_seed" else require_count
    try:
        return check(parse_int(str(value), option), option)
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None


def sweep_seeds(config: pytest.Config, seeds: int, first_seed: int) -> list[int]:
    """The seeds a sweep of ``seeds`` seeds from ``first_seed`` runs under the command
    line's options: exactly ``--ninelives-seed`` if given, else ``--ninelives-seeds`` (or
    ``seeds``) consecutive seeds from ``first_seed``."""
    one = _option(config, "ninelives_seed")
    if one is not None:
        return [one]
    count = _option(config, "ninelives_seeds") or seeds
    return list(range(first_seed, first_seed + count))


def _chunks(seeds: Sequence[int], k: int) -> list[tuple[int, int]]:
    """``seeds`` (consecutive) cut into at most ``k`` near-equal (first, count) runs."""
    k = max(1, min(k, len(seeds)))
    size, extra = divmod(len(seeds), k)
    out, start = [], 0
    for i in range(k):
        n = size + (1 if i < extra else 0)
        out.append((seeds[start], n))
        start += n
    return out


def _chunk_id(first: int, count: int) -> str:
    return f"seeds{first}-{first + count - 1}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    config = metafunc.config
    args = _marker_args(marker, metafunc.definition.nodeid)
    chunks = _option(config, "ninelives_chunks") or args.chunks
    if chunks <= 1 or config.getoption("ninelives_seed") is not None:
        return  # one item; --ninelives-seed reruns the unchunked test id
    seeds = sweep_seeds(config, args.seeds, args.first_seed)
    parts = _chunks(seeds, chunks)
    if len(parts) <= 1:
        return
    # A parameter no test function names: declare it, as pytest-repeat does.
    metafunc.fixturenames.append(CHUNK_PARAM)
    metafunc.parametrize(CHUNK_PARAM, parts, ids=[_chunk_id(*p) for p in parts])


def _base_nodeid(item: pytest.Item) -> str:
    """The test's node id without our chunk parameter: the id ``--ninelives-seed`` reruns."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or CHUNK_PARAM not in callspec.params:
        return item.nodeid
    chunk = _chunk_id(*callspec.params[CHUNK_PARAM])
    nodeid = item.nodeid
    for old, new in ((f"[{chunk}]", ""), (f"-{chunk}]", "]"), (f"[{chunk}-", "["),
                     (f"-{chunk}-", "-")):
        if old in nodeid:
            return nodeid.replace(old, new, 1)
    return nodeid


# --- running a marked test -------------------------------------------------------------------


class _NotYetSwept:
    """What ``ninelives_result`` holds until the sweep has run (just before the test body)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("ninelives_result is only available inside the test function")


def _record(item: pytest.Item, summary: SweepSummary, nodeid: str) -> None:
    item.user_properties.append((PROPERTY, json.dumps(summary.brief(nodeid), sort_keys=True)))


def _command_line_id(config: pytest.Config, nodeid: str) -> str:
    """``nodeid`` (relative to the rootdir) as it must be typed in the directory pytest
    was started from, so the printed command works when pasted there."""
    path, sep, rest = nodeid.partition("::")
    try:
        relative = os.path.relpath(config.rootpath / path, config.invocation_params.dir)
    except ValueError:  # another drive (Windows)
        return nodeid
    return relative.replace(os.sep, "/") + sep + rest


def _sweep_or_fail(item: pytest.Item, scenario: str, design: str, seeds: list[int],
                   max_failures: int | None, check: bool,
                   isolation: str | None = None) -> SweepSummary:
    try:
        summary = run_sweep(scenario, design, seeds, max_failures=max_failures,
                            isolation=isolation)
    except InputError as error:  # an unknown scenario or design, a bad plan: said once
        bad_input = f"ninelives: {error}"
    else:
        bad_input = None
    if bad_input is not None:  # failed outside the handler: the report shows no chain
        pytest.fail(bad_input, pytrace=False)
    nodeid = _base_nodeid(item)
    _record(item, summary, nodeid)
    if check and not summary.ok:
        pytest.fail(failure_message(summary, _command_line_id(item.config, nodeid)),
                    pytrace=False)
    if check and summary.nondeterminism:
        pytest.fail(f"ninelives: {scenario} x {design}: {summary.nondeterminism}",
                    pytrace=False)
    return summary


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    marker = item.get_closest_marker(MARKER)
    if marker is not None:
        args = _marker_args(marker, item.nodeid)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and CHUNK_PARAM in callspec.params:
            first, count = callspec.params[CHUNK_PARAM]
            seeds = list(range(first, first + count))
        else:
            seeds = sweep_seeds(item.config, args.seeds, args.first_seed)
        summary = _sweep_or_fail(item, args.scenario, args.design, seeds,
                                 args.max_failures, check=True, isolation=args.isolation)
        # The test function is called with ``item.funcargs``: hand it the summary there
        # (the fixture could only give a placeholder, as it runs before the sweep).
        funcargs = getattr(item, "funcargs", None)
        if funcargs is not None and "ninelives_result" in funcargs:
            funcargs["ninelives_result"] = summary
    return (yield)


@pytest.fixture
def ninelives_result(request: pytest.FixtureRequest) -> Any:
    """The ``SweepSummary`` of the test's ``@pytest.mark.ninelives`` sweep (which passed:
    a failing sweep fails the test before its body runs)."""
    if request.node.get_closest_marker(MARKER) is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the ninelives_result fixture needs "
                                "@pytest.mark.ninelives(scenario=..., design=...)")
    return _NotYetSwept()


@pytest.fixture
def ninelives_sweep(request: pytest.FixtureRequest) -> Callable[..., SweepSummary]:
    """A function that runs a sweep inside the test::

        summary = ninelives_sweep("checkout", "myapp.agent:design", seeds=200)

    It honours ``--ninelives-seeds``/``--ninelives-seed`` as the marker does, fails the
    test like the marker on the first broken invariant (unless ``check=False``), appears
    in the terminal summary, and returns the ``SweepSummary``.
    """
    item = request.node

    def sweep(scenario: str, design: str = "reference", *, seeds: int = DEFAULT_SEEDS,
              first_seed: int = 0, max_failures: int | None = DEFAULT_MAX_FAILURES,
              check: bool = True, isolation: str | None = None) -> SweepSummary:
        chosen = sweep_seeds(item.config, seeds, first_seed)
        return _sweep_or_fail(item, scenario, design, chosen, max_failures, check,
                              isolation)

    return sweep


# --- the terminal summary --------------------------------------------------------------------

def summary_rows(briefs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge sweep digests per (test, scenario, design): a chunked sweep is one row."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for b in briefs:
        key = (b["nodeid"], b["scenario"], b["design"])
        row = rows.get(key)
        if row is None:
            rows[key] = row = {"nodeid": b["nodeid"], "scenario": b["scenario"],
                               "design": b["design"], "seeds_requested": 0, "seeds_run": 0,
                               "failing_seeds": [], "invariants": {}}
        row["seeds_requested"] += b["seeds_requested"]
        row["seeds_run"] += b["seeds_run"]
        row["failing_seeds"] = sorted(set(row["failing_seeds"]) | set(b["failing_seeds"]))
        if b["first_failing_seed"] is not None:
            row["invariants"][b["first_failing_seed"]] = b["invariant"]
    for row in rows.values():
        first = row["failing_seeds"][0] if row["failing_seeds"] else None
        row["first_failing_seed"] = first
        row["invariant"] = row["invariants"].get(first) if first is not None else None
        del row["invariants"]
    return sorted(rows.values(), key=lambda r: (r["nodeid"], r["scenario"], r["design"]))


class _SummarySection:
    """Collects sweep digests from test reports; writes the "ninelives" report section.

    One instance per session (registered in ``pytest_configure``), so pytester's
    in-process runs do not share state with the session that runs them.
    """

    def __init__(self) -> None:
        self.briefs: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs in a plain session and, under xdist, on the controller for the workers'
        # reports (whose user_properties came along with them).
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == PROPERTY and isinstance(value, str):
                self.briefs.append(json.loads(value))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = summary_rows(self.briefs)
        if not rows:
            return
        tr = terminalreporter
        tr.write_sep("=", "ninelives")
        for row in rows:
            plural = "s" if row["seeds_requested"] != 1 else ""
            seeds = (f"{row['seeds_run']} seed{plural}"
                     if row["seeds_run"] == row["seeds_requested"]
                     else f"{row['seeds_run']} of {row['seeds_requested']} seed{plural}")
            head = f"{row['nodeid']}: {row['scenario']} x {row['design']}, {seeds} run, "
            if row["first_failing_seed"] is None:
                tr.write_line(head + "no violations", green=True)
            else:
                n = len(row["failing_seeds"])
                tr.write_line(head + f"{n} failing seed{'s' if n != 1 else ''}, first "
                              f"failing seed {row['first_failing_seed']} ({row['invariant']})",
                              red=True)
