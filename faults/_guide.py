"""Coverage-guided fault plans: later runs of a sweep steer toward what earlier runs found.

Uniform swarm sampling (``swarm_plan``) finds a bug that needs one fault in about as many
seeds as that fault is rare; a bug that needs two faults to *interact* — a delayed post
and a clock jump at the very next operation — needs the product of two rarities (about
1 seed in 4,000 of sre-incident for ``reference-settle-reckoned``). Fuzzers solve this
with feedback (AFL, libFuzzer; Antithesis for whole systems): keep the inputs whose runs
did something new and mutate them. Here:

- **What is new** is measured on the run's trace, the vocabulary every design shares
  (``run_features``): per component, each event's label (its kind and its categorical
  fields: the tool, the status, the fault kind, the store keys with digits taken out)
  after the previous one's, an AFL edge; and how many times each label occurred, in
  AFL's power-of-two buckets (a second ``chat.post`` is new even if the first was not).
  Nothing names a design, a scenario, a tool or a fault kind.
- **The corpus** keeps every run that reached a feature no earlier run had reached, with
  its plan and where its faults fired (``Feedback.points``: the process and its port
  operation). A parent is drawn with a weight that favours the entries that hold the
  rarest features.
- **A mutation** adds a fault (any kind the space allows, drawn as swarm draws it; half
  the time aimed at a point where one of the parent's faults fired, or just after, or
  at the call one of its call faults took: faults that interact are close), removes
  one, nudges one (its point, an intensity, a categorical choice), or splices in one of
  another entry's faults; one to four of them, stacked.

**Determinism.** A guided run is still one (seed, plan) pair, and its plan is recorded
(the sweep puts it in the run's repro line). The guide is fed in *generations*: the
plans of indexes ``[start, stop)`` depend only on runs of earlier generations, fed to
``observe`` in index order, so a sweep gives the same runs whatever the number of
workers or where they ran. Every draw comes from ``derive_seed`` streams named by the
sweep's first seed and the run's index, never from the global ``random``.

**Nothing lost.** A share of the runs (``GuideConfig.uniform_share``, half by default)
are the seeds' own swarm plans, so whatever uniform sampling finds, a guided sweep finds
within about ``1 / uniform_share`` times as many runs; every run of the first generation
is one (there is no corpus yet).
"""

from __future__ import annotations

import random
import re
import zlib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, get_args

from simulator import TraceKind, derive_seed

from ._hooks import PlanHooks
from ._plan import FaultPlan
from ._swarm import _KINDS, FaultSpace, SwarmConfig, swarm_plan
from ._types import ClockJump, Crash, ModelFault, Pause, _Fault

#: AFL's hit-count buckets: a label seen 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+ times
_BUCKETS = (1, 2, 3, 4, 8, 16, 32, 128)
#: event fields that count or identify (request numbers, call numbers, incarnations):
#: in a label they would make every run new
_COUNTERS = frozenset({"request", "call", "index", "incarnation", "op", "seq"})
_DIGITS = re.compile(r"\d+")
#: longest text kept of a string field in a label
_TEXT_CHARS = 48
#: components whose events are the plan itself (faults firing, the network losing what a
#: fault told it to) or the harness's bookkeeping: features measure what the system
#: under test did, not what was done to it, or every new combination of faults would
#: count as new behaviour
INJECTED = frozenset({"faults", "network", "harness"})
GLOBAL_EDGES = False


def _norm(text: str) -> str:
    return _DIGITS.sub("#", text)[:_TEXT_CHARS]


def _summary(key: str, value: Any) -> str | None:
    """The categorical part of one event field, or None when it has none."""
    if key in _COUNTERS:
        return None
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return _norm(value)
    if isinstance(value, int):  # only HTTP statuses are categories; other ints count
        return str(value) if key == "status" else None
    if isinstance(value, list):
        return ",".join(sorted({_norm(v) for v in value if isinstance(v, str)}))
    if isinstance(value, dict):  # a fault or an action: its tag and target
        parts = [_norm(v) for k in ("kind", "action", "tool", "leg", "fault")
                 if isinstance(v := value.get(k), str)]
        return "/".join(parts) if parts else None
    return None


def _label(kind: str, data: dict[str, Any]) -> str:
    parts = [kind]
    for key in sorted(data):
        summary = _summary(key, data[key])
        if summary is not None:
            parts.append(f"{key}={summary}")
    return " ".join(parts)


def _feature(text: str) -> int:
    # crc32, not hash(): str hashes change with PYTHONHASHSEED, and features travel
    # between processes
    return zlib.crc32(text.encode())


def _texts(events: Sequence[tuple[int, str, str, dict[str, Any]]]) -> dict[str, int]:
    """Each feature's text -> the trace position where it first occurred."""
    first: dict[str, int] = {}
    previous: dict[str, str] = {}
    last = ""  # the latest event of any component: the interleaving
    counts: dict[tuple[str, str], int] = {}
    # Requests whose caller gave up on them (timed out, or died): a service acting on
    # one is acting late, after the caller moved on, which no healthy run shows.
    open_requests: dict[str, set[int]] = {}
    abandoned: set[int] = set()
    for position, (_t, component, kind, data) in enumerate(events):
        if component in INJECTED:
            continue
        who = _norm(component)
        label = _label(kind, data)
        request = data.get("request")
        if kind == TraceKind.TOOL_REQUEST:
            open_requests.setdefault(component, set()).add(request)
        elif kind in (TraceKind.TOOL_RESPONSE, TraceKind.TOOL_TIMEOUT):
            open_requests.get(component, set()).discard(request)
            if kind == TraceKind.TOOL_TIMEOUT:
                abandoned.add(request)
        elif kind == TraceKind.CRASH:
            abandoned |= open_requests.pop(component, set())
        elif request in abandoned:
            label += " late"
        here = f"{who}:{label}"
        for text in (f"{who}|{previous.get(who, '')}>{label}",
                     f"*|{last}>{here}" if GLOBAL_EDGES else ""):
            if text and text not in first:
                first[text] = position
        previous[who] = label
        last = here
        n = counts[(who, label)] = counts.get((who, label), 0) + 1
        if n in _BUCKETS:
            first.setdefault(f"{who}|{label}#{n}", position)
    return first


def run_features(events: Sequence[tuple[int, str, str, dict[str, Any]]],
                 situations: Iterable[str] = ()) -> tuple[int, ...]:
    """The coverage features of one run, sorted: from its trace (``Trace.raw()``) and the
    situations it reached. Deterministic across processes."""
    texts = set(_texts(events)) | {f"situation {name}" for name in situations}
    return tuple(sorted({_feature(t) for t in texts}))


@dataclass(frozen=True)
class Feedback:
    """What the guide learns from one run: small and picklable (no world)."""

    #: ``run_features`` of the run
    features: tuple[int, ...]
    #: parallel to ``features``: the trace position where each first occurred
    first: tuple[int, ...] = ()
    #: each fired fault, in firing order: (plan index, trace position, the process it
    #: struck or whose request it was, that process's port operations so far)
    fired: tuple[tuple[int, int, str, int], ...] = ()
    #: per process (by name): the trace position at which each of its port operations
    #: began, so that a trace position maps to an operation number
    ops: tuple[tuple[str, tuple[int, ...]], ...] = ()
    #: each request a process made, in order: (trace position, process, tool or
    #: ``"model"``, the tool's or the model's call number)
    calls: tuple[tuple[int, str, str, int], ...] = ()


def feedback_of(events: Sequence[tuple[int, str, str, dict[str, Any]]],
                situations: Iterable[str] = (), hooks: PlanHooks | None = None) -> Feedback:
    """The ``Feedback`` of a run that has ended: its trace (``Trace.raw()``), the
    situations it reached, and its plan's hooks (None for a run without faults)."""
    first: dict[int, int] = {}
    for text, position in _texts(events).items():
        feature = _feature(text)
        first[feature] = min(position, first.get(feature, position))
    for name in situations:
        first.setdefault(_feature(f"situation {name}"), len(events))
    features = tuple(sorted(first))
    fired_positions = []
    calls = []
    for position, (_t, component, kind, data) in enumerate(events):
        if kind == TraceKind.FAULT_FIRED and component == "faults":
            fired_positions.append(position)
        elif kind == TraceKind.TOOL_REQUEST:
            calls.append((position, component, str(data.get("tool")), int(data.get("call", 0))))
        elif kind == TraceKind.MODEL_REQUEST:
            calls.append((position, component, "model", int(data.get("call", 0))))
    fired: tuple[tuple[int, int, str, int], ...] = ()
    ops: tuple[tuple[str, tuple[int, ...]], ...] = ()
    if hooks is not None:
        fired = tuple((index, position, process, op) for index, position, (process, op)
                      in zip(hooks.fired, fired_positions, hooks.fired_at, strict=False))
        ops = tuple((name, tuple(marks)) for name, marks in sorted(hooks.op_marks.items()))
    return Feedback(features=features, first=tuple(first[f] for f in features),
                    fired=fired, ops=ops, calls=tuple(calls))


@dataclass(frozen=True)
class GuideConfig:
    """How ``Guide`` plans. Generations are what make a guided sweep independent of its
    workers; their size trades how soon feedback counts against how often a parallel
    sweep waits for its slowest batch."""

    #: runs per generation
    generation: int = 50
    #: share of runs, after the first generation, that are the seed's own swarm plan
    uniform_share: float = 0.5
    #: share of guided runs that pair a new fault with the new behaviour of an entry
    #: (the others stack random mutations on its whole plan)
    pair_share: float = 0.5
    #: mutations stacked on one parent's plan: 1 to this many
    max_mutations: int = 3
    #: a fault aimed at an operation lands this many operations before it to this many
    #: after
    near_before: int = 1
    near_after: int = 2
    #: a guided run uses its parent's seed (the same world, so the mutation is all that
    #: changed, and the fault-free baseline is shared) rather than its own
    parent_seed: bool = True


@dataclass(frozen=True)
class Trial:
    """What to run at one index of a guided sweep."""

    seed: int
    #: None: the seed's own swarm plan (a uniform run)
    plan: FaultPlan | None = None


@dataclass
class _Entry:
    """A run that reached something no earlier run had."""

    seed: int
    plan: FaultPlan
    feedback: Feedback
    #: (feature, trace position) of the features this run was the first to reach
    owned: list[tuple[int, int]] = field(default_factory=list)
    #: how many guided runs were drawn from this entry
    picks: int = 0


_OP_KINDS = frozenset({"crash", "pause", "clock_jump"})


class Guide:
    """Plans the runs of one guided sweep, generation by generation.

    ``trials(start, stop)`` says what to run at indexes ``start .. stop - 1``; after
    they ran, ``observe`` each one's ``Feedback`` in index order, then ask for the next
    generation. ``trials`` for a generation depends only on what was observed before.
    """

    def __init__(self, space: FaultSpace, first_seed: int = 0,
                 config: GuideConfig = GuideConfig(),
                 swarm: SwarmConfig = SwarmConfig()) -> None:
        self.space = space
        self.first_seed = first_seed
        self.config = config
        self.swarm = swarm
        self._kinds = [k for k in _KINDS if k[1](space)]
        self._corpus: list[_Entry] = []
        self._hits: dict[int, int] = {}
        #: per corpus entry, its cumulative weight for the current generation
        self._weights: list[float] = []
        self._observed = 0

    # -- what to run ----------------------------------------------------------------------

    def is_uniform(self, index: int) -> bool:
        """Whether run ``index`` is a seed's own swarm plan: every run of the first
        generation, and then ``uniform_share`` of them, evenly spread."""
        if index < self.config.generation:
            return True
        guided = 1.0 - self.config.uniform_share
        return int((index + 1) * guided) == int(index * guided)

    def trials(self, start: int, stop: int) -> list[Trial]:
        """The runs at indexes ``start .. stop - 1``."""
        if start != self._observed:
            raise ValueError(f"runs before {start} must be observed first "
                             f"({self._observed} were)")
        out = []
        for index in range(start, stop):
            if self.is_uniform(index) or not self._corpus:
                out.append(Trial(seed=self.first_seed + index))
            else:
                self._weigh()
                out.append(self._mutant(index))
        return out

    def _rarity(self, feature: int) -> float:
        return 1.0 / self._hits[feature]

    def _weigh(self) -> None:
        # An entry weighs 1/hits of the rarest feature it was first to reach: the
        # entries holding what few runs reach are drawn most (AFL's "favoured"), and an
        # entry of the first generation, first to reach dozens of common things, weighs
        # no more than one that reached a single rare one.
        # Each time an entry is drawn it weighs less (AFL's power schedules, which give
        # a path fuzzed often less energy): an entry whose rare feature its mutants
        # never reach again would otherwise be drawn for ever.
        self._weights = list(accumulate(
            max(self._rarity(f) for f, _ in entry.owned) / (1 + entry.picks) ** 0.5
            for entry in self._corpus))

    def _mutant(self, index: int) -> Trial:
        rng = random.Random(derive_seed(self.first_seed, f"guide:{index}"))
        parent = self._corpus[rng.choices(range(len(self._corpus)),
                                          cum_weights=self._weights)[0]]
        parent.picks += 1
        if rng.random() < self.config.pair_share:
            faults, what = self._pair(rng, parent)
        else:
            faults = list(parent.plan.faults)
            done = [self._mutate(rng, faults, parent)
                    for _ in range(rng.randint(1, self.config.max_mutations))]
            what = ", ".join(done)
        unique: list[_Fault] = []
        for fault in faults:  # the same fault twice is noise in a plan a human reads
            if fault not in unique:
                unique.append(fault)
        seed = parent.seed if self.config.parent_seed else self.first_seed + index
        note = f"guided: seed {seed}, from the plan of seed {parent.seed} ({what})"
        return Trial(seed=seed, plan=FaultPlan(faults=unique, note=note))

    # -- pairing: a new fault where the parent did something new ----------------------------

    def _pair(self, rng: random.Random, parent: _Entry) -> tuple[list[_Fault], str]:
        """The faults that fired before one of the parent's new features first occurred,
        and one more fault aimed at that moment: at the operation the process was at,
        or at the next call it made. A bug that needs two faults to interact needs the
        second while the first's effect is under way (a jump of the clock while a
        delayed request is still out, a crash while a retry waits)."""
        owned = parent.owned
        weights = list(accumulate(self._rarity(f) for f, _ in owned))
        _, position = owned[rng.choices(range(len(owned)), cum_weights=weights)[0]]
        fb = parent.feedback
        before = [(index, process, op) for index, at, process, op in fb.fired
                  if at < position]
        faults = [f for i, f in enumerate(parent.plan.faults)
                  if i in {index for index, _, _ in before}]
        # Half the time a process fault (its point can be aimed into a window of
        # operations), half the time a call or model fault (aimed at a next call): the
        # two families weigh the same, whatever number of kinds each has.
        family = [k for k in self._kinds if (k[0] in _OP_KINDS) == (rng.random() < 0.5)]
        fault = self._draw(rng, family or self._kinds)
        cause = before[-1] if before else None
        return [*faults, self._aim_at(rng, fault, fb, position, cause)], \
            f"pair at trace event {position}"

    def _draw(self, rng: random.Random, kinds: Sequence[Any] | None = None) -> _Fault:
        _kind, _, draw = rng.choice(kinds or self._kinds)
        return draw(rng, self.space, self.swarm)

    def _aim_at(self, rng: random.Random, fault: _Fault, fb: Feedback, position: int,
                cause: tuple[int, str, int] | None) -> _Fault:
        """Aim ``fault`` at trace ``position`` (where something new happened): an
        operation fault anywhere between the operation at which ``cause`` (the last
        fault fired before it) fired and a little after ``position``, on the process
        that acted last there; a call or model fault at one of the next calls."""
        if isinstance(fault, Crash | Pause | ClockJump):
            # The process that acted last at ``position``, and its operation then.
            best: tuple[int, str, int] | None = None
            for name, marks in fb.ops:
                n = bisect_right(marks, position)
                if n and name in self.space.processes and (best is None or
                                                           marks[n - 1] > best[0]):
                    best = (marks[n - 1], name, n)
            if best is None:
                return fault
            _, process, op = best
            low = op - self.config.near_before
            if cause is not None and cause[1] == process:
                low = min(low, cause[2])
            at_op = max(1, rng.randint(low, op + self.config.near_after))
            return fault.model_copy(update={"process": process, "at_op": at_op})
        if isinstance(fault, ModelFault):
            later = [c for at, _, tool, c in fb.calls if at >= position and tool == "model"]
            return fault.model_copy(update={"call": later[0]}) if later else fault
        tools = self.space.keyed_tools if fault.kind == "duplicate" else self.space.tools
        later_calls = [(tool, c) for at, _, tool, c in fb.calls
                       if at >= position and tool in tools][:2]
        if not later_calls:
            return fault
        tool, call = rng.choice(later_calls)
        return fault.model_copy(update={"tool": tool, "call": call})

    # -- havoc: random mutations of the parent's whole plan ---------------------------------

    def _mutate(self, rng: random.Random, faults: list[_Fault], parent: _Entry) -> str:
        roll = rng.random()
        if roll < 0.45 or not faults:
            fault = self._draw(rng)
            if rng.random() < 0.5:
                fault = self._aim(rng, fault, faults, parent)
            faults.append(fault)
            return "add"
        if roll < 0.6 and len(faults) > 1:
            del faults[rng.randrange(len(faults))]
            return "remove"
        if roll < 0.9:
            at = rng.randrange(len(faults))
            faults[at] = self._nudge(rng, faults[at])
            return "nudge"
        donor = self._corpus[rng.randrange(len(self._corpus))]
        if donor.plan.faults:
            faults.append(rng.choice(donor.plan.faults))
            return "splice"
        faults.append(self._draw(rng))
        return "add"

    def _aim(self, rng: random.Random, fault: _Fault, faults: list[_Fault],
             parent: _Entry) -> _Fault:
        """Move ``fault`` next to one of the parent's: an operation fault to (just around)
        a point where a parent's fault fired, a call fault onto a call a parent's call
        fault took, or the next one."""
        if isinstance(fault, Crash | Pause | ClockJump):
            points = [(p, op) for _, _, p, op in parent.feedback.fired
                      if p in self.space.processes]
            if not points:
                return fault
            process, op = rng.choice(points)
            at_op = max(1, op + rng.randint(-self.config.near_before, self.config.near_after))
            return fault.model_copy(update={"process": process, "at_op": at_op})
        if isinstance(fault, ModelFault):
            calls = [f.call for f in faults if isinstance(f, ModelFault)]
            if calls:
                return fault.model_copy(update={"call": rng.choice(calls) + rng.randint(0, 1)})
            return fault
        tools = set(self.space.keyed_tools if fault.kind == "duplicate" else self.space.tools)
        targets = [(f.tool, f.call) for f in faults
                   if isinstance(getattr(f, "tool", None), str) and f.tool in tools]
        if not targets:
            return fault
        tool, call = rng.choice(targets)
        return fault.model_copy(update={"tool": tool, "call": call + rng.randint(0, 1)})

    def _nudge(self, rng: random.Random, fault: _Fault) -> _Fault:
        """One field of ``fault`` changed a little: a point moved by a few, an intensity
        scaled by up to 2x either way, a categorical choice drawn again."""
        names = [n for n in type(fault).model_fields if n != "kind"]
        name = rng.choice(names)
        value = getattr(fault, name)
        options = get_args(type(fault).model_fields[name].annotation)
        if name == "process":
            new: Any = rng.choice(self.space.processes) if self.space.processes else value
        elif name == "tool":
            tools = self.space.keyed_tools if fault.kind == "duplicate" else self.space.tools
            new = rng.choice(tools) if tools else value
        elif name in ("at_op", "call"):
            new = max(1, value + rng.choice((-2, -1, 1, 2)))
        elif isinstance(value, bool):
            new = not value
        elif isinstance(value, int):
            magnitude = max(1, round(abs(value) * 2 ** rng.uniform(-1.0, 1.0)))
            sign = -1 if value < 0 else 1
            if name == "jump_ms" and rng.random() < 0.25:
                sign = -sign
            new = sign * magnitude if name == "jump_ms" else magnitude
            if name == "after_ms" and value == 0:
                new = rng.randint(1, self.swarm.crash_in_flight_ms_max)
        elif options and all(not isinstance(o, type) for o in options):
            new = rng.choice(options)  # a Literal: another of its values
        else:
            return fault
        try:
            return type(fault).model_validate({**fault.model_dump(), name: new})
        except ValueError:  # out of the field's bounds: keep the fault as it was
            return fault

    # -- what ran -------------------------------------------------------------------------

    def observe(self, index: int, trial: Trial, feedback: Feedback) -> bool:
        """Learn from run ``index`` (``trial`` is what ran). Call in index order, for
        every run of a generation, before asking for the next. True if the run reached
        something no earlier run had, and joined the corpus."""
        if index != self._observed:
            raise ValueError(f"observe run {self._observed} next, not {index}")
        self._observed += 1
        hits = self._hits
        new = [(f, at) for f, at in zip(feedback.features, feedback.first, strict=False)
               if f not in hits]
        for f in feedback.features:
            hits[f] = hits.get(f, 0) + 1
        if not new:
            return False
        plan = trial.plan if trial.plan is not None else swarm_plan(trial.seed, self.space,
                                                                     self.swarm)
        self._corpus.append(_Entry(seed=trial.seed, plan=plan, feedback=feedback, owned=new))
        return True

    @property
    def corpus_size(self) -> int:
        """Runs kept as parents."""
        return len(self._corpus)

    @property
    def features_seen(self) -> int:
        """Distinct features reached so far."""
        return len(self._hits)


def generations(start: int, stop: int, size: int) -> Sequence[tuple[int, int]]:
    """``[start, stop)`` cut into generations of ``size`` (the last may be shorter)."""
    return [(a, min(stop, a + size)) for a in range(start, stop, size)]
