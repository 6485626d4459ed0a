"""What an inline run cannot simulate, watched: a design's own process-local state.

An inline run restarts a crashed worker inside the same Python process, so whatever the
design keeps in its modules survives the "crash", and a thread it starts lives on
beside the simulation. ``DesignWatch`` wraps one inline run of a design and sees three
things, each by a general mechanism rather than a pattern of one design:

- **module state that changed during the run.** Every global of the design's own
  modules (``design_modules``: the package its entry point lives in, never the standard
  library or the harness) is fingerprinted before and after: plain data (numbers,
  strings, containers) and instances of the design's own classes by value, a
  ``random.Random`` by its state, anything else (a library's client, a lock) by
  identity. A global whose value (by that measure) changed, appeared or vanished is a
  finding; one whose new value is an opaque library object is not (a lazily made
  client is rebuilt after a real crash too, and the design holds no data in it that
  we could read).
- **threads started during the run**: ``threading.Thread.start`` is hooked while any
  watch is active and records a start made on a watched run's own thread (other
  threads of the process — pytest's, Dask's — start theirs unseen).
- **clocks and randomness bound at import** (``from time import time``): a global that
  *is* one of the real functions the shims replace (found by identity,
  ``import_bound_shims``) is rebound to its shim for the length of the run, so the
  design reads the virtual clock and the run's seeded streams, as it does under
  process isolation, whose zygote imports the design with the shims active. It is
  restored afterwards (unless the design rebound it itself); ``rebound`` names them.

A run costs one snapshot, not two: it starts from the snapshot the last watched run
of the same modules ended with (only the harness runs between two runs; the harness
watches its baseline runs too, so the view stays current). The one way that view goes
stale is code outside any run changing a design module between two runs (a test
resetting it): the next run then reports that change as its own. Measured on the
reference design (10 modules, 209 globals) with callgrind: a snapshot cost about 4 M
instructions, a quarter of a fully checked checkout seed's (a faulted run and its
baseline take one each). Three changes cut a snapshot to 2.3 M and a checked seed from
37.4 M to 29.5 M (docs/scale.md, "Fifth session"): a global that still holds the very
scalar, code object or data-less class it held at the last snapshot reuses that
snapshot's fingerprint (``_FIXED``),
each module's sorted names are kept until its names change, and a value's size is not
asked of what has no length (an exception per global).

Module state is a *violation* (``process-local-state``), not a warning: inline, it
survives every simulated crash, so each other verdict of the run may be a false pass.
Its cost is a false alarm on a design whose module state is a harmless cache; the
message says so and names process isolation, whose verdict is the one that counts.

Fingerprints are compared by value in a fixed order (sorted module and global names;
sets and dicts compared as sets, never iterated into the result), so what is reported
does not depend on hash or memory order (``tests/simulator/test_watch.py``).
"""

from __future__ import annotations

import abc
import collections
import random
import sys
import threading
import types
import weakref
from dataclasses import dataclass, field
from typing import Any

from ._shims import import_bound_shims

#: packages whose state is the harness's, never a design's
_HARNESS = frozenset({"simulator", "faults", "fakes", "scenarios", "ninelives"})
_PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)
#: classes whose attributes may hold a design's state (a pydantic model's class
#: attributes are its schema, walked at every run for nothing)
_PLAIN_METACLASSES = (type, abc.ABCMeta)
#: globals compared by identity alone, without a fingerprint: code and modules
#: how many containers and objects one global's fingerprint may visit before it is
#: taken by identity and size (a module-level table of 10^5 rows is compared by those)
_BUDGET = 20_000
_CODE = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType)


def design_modules(main: Any) -> list[types.ModuleType]:
    """The design's own modules: those reachable from ``main`` (a design's entry point)
    through module globals, closures and base classes, within the top-level package
    ``main`` is defined in; none for the harness's own packages or the standard
    library. Sorted by name.

    Reachable rather than the whole package, so that a package holding many designs
    (``reference_agent``) watches only the modules of the one under test."""
    top = (getattr(main, "__module__", None) or "").partition(".")[0]
    if not top or top in _HARNESS or top in sys.stdlib_module_names:
        return []

    def ours(name: object) -> bool:
        return isinstance(name, str) and (name == top or name.startswith(top + "."))

    seen: dict[str, types.ModuleType] = {}
    todo: list[Any] = [main]
    while todo:
        obj = todo.pop()
        if isinstance(obj, types.ModuleType):
            name = obj.__name__
            if name in seen or not ours(name) or not getattr(obj, "__file__", None):
                continue
            seen[name] = obj
            # A package's submodules are attributes of it once imported: that says they
            # were imported, not that the design uses them (reference_agent.flawed).
            follow: tuple[type, ...] = ((types.FunctionType, type) if hasattr(obj, "__path__")
                                        else (types.ModuleType, types.FunctionType, type))
            todo.extend(v for v in vars(obj).values() if isinstance(v, follow))
            continue
        module = sys.modules.get(getattr(obj, "__module__", None) or "")
        if module is not None and module.__name__ not in seen:
            todo.append(module)
        if isinstance(obj, types.FunctionType) and obj.__closure__:
            for cell in obj.__closure__:
                try:
                    todo.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
        if isinstance(obj, type):
            todo.extend(base for base in obj.__mro__[1:] if ours(base.__module__))
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            todo.append(wrapped)
    return [seen[name] for name in sorted(seen)]


_DATA_NAMES: weakref.WeakKeyDictionary[type, list[str]] = weakref.WeakKeyDictionary()


def _data_names(cls: type) -> list[str]:
    """The names of ``cls``'s own attributes that hold data, not code, sorted; found
    once per class (scanning a class's namespace at every run cost more than the rest
    of the watch)."""
    names = _DATA_NAMES.get(cls)
    if names is None:
        names = sorted(name for name, v in vars(cls).items()
                       if not (name.startswith("__") and name.endswith("__"))
                       and not callable(v)
                       and not isinstance(v, (classmethod, staticmethod, property)))
        _DATA_NAMES[cls] = names
    return names


class _Fingerprinter:
    """Value fingerprints (canonical strings) of plain data and of instances of the
    design's own classes. Strings, not nested tuples: comparing two is one memcmp,
    where tuples re-hash every element; unordered containers sort their members'
    fingerprints, so no hash or memory order reaches the result. (A pickler with
    ``reducer_override`` was tried: three times slower, from its per-object calls.)"""

    def __init__(self, own: frozenset[str], memo: dict[int, str]) -> None:
        self.own = own  # module names whose classes' instances are compared by value
        self.left = _BUDGET
        # id -> fingerprint, over one snapshot: a table imported into six modules is
        # walked once, and a cycle ends at its first repeat
        self.memo = memo

    def of(self, value: Any) -> str:
        kind = type(value)
        if kind in _PLAIN_SCALARS:
            return repr(value)
        key = id(value)
        known = self.memo.get(key)
        if known is not None:
            return known
        self.left -= 1
        if self.left < 0:
            raise _OverBudget
        self.memo[key] = f"^{key}"  # a cycle back to an object being walked
        fp = self._of(value, kind)
        self.memo[key] = fp
        return fp

    def _of(self, value: Any, kind: type) -> str:
        of = self.of
        if isinstance(value, (list, tuple, collections.deque)):
            return f"{kind.__name__}[{','.join([of(v) for v in value])}]"
        if isinstance(value, (set, frozenset)):
            return f"{kind.__name__}{{{','.join(sorted([of(v) for v in value]))}}}"
        if isinstance(value, dict):
            items = sorted([f"{of(k)}:{of(v)}" for k, v in value.items()])
            return f"{kind.__name__}{{{','.join(items)}}}"
        if isinstance(value, random.Random):
            return f"Random({hash(value.getstate())})"  # ints hash unsalted
        if isinstance(value, type):
            if type(value) in _PLAIN_METACLASSES and value.__module__ in self.own:
                # State in a class attribute of the design's own class (``steps = {}``
                # in the class body) is module state too; methods are code.
                names = vars(value)
                attrs = [f"{n}={of(names[n])}" for n in _data_names(value) if n in names]
                return f"class {value.__qualname__}{{{','.join(attrs)}}}"
        elif kind.__module__ in self.own and not isinstance(value, _CODE):
            state = getattr(value, "__dict__", None)
            if isinstance(state, dict):
                return f"{kind.__qualname__}({of(state)})"
        return f"@{id(value)}"  # a library's object, code, a module: by identity


#: the kinds ``_Fingerprinter._of`` reads by value whatever module defines them
_WALKED = (list, tuple, collections.deque, set, frozenset, dict, random.Random)


class _OverBudget(Exception):
    pass


def _fingerprint(value: Any, own: frozenset[str], memo: dict[int, str]) -> str:
    start = len(memo)
    try:
        return _Fingerprinter(own, memo).of(value)
    except Exception as error:  # too big, or a __dict__ that raises
        for key in list(memo)[start:]:  # half-walked objects: fingerprint them afresh
            del memo[key]
        if isinstance(error, _OverBudget):
            size = len(value) if hasattr(value, "__len__") else None
            return f"big@{id(value)}/{size}"
        return f"@{id(value)}"


def _opaque(fp: str) -> bool:
    return fp.startswith("@")


#: kinds that never have a length: asking would raise, and an exception per global per
#: snapshot was a fifth of the watch's cost
_NO_LEN = (type(None), bool, int, float, complex, *_CODE, type)


def _size(value: Any) -> str:
    """What a report says of a global's value: its type, and its size if it has one
    (a repr could be a megabyte, or the design's secrets)."""
    kind = type(value).__name__
    if isinstance(value, _NO_LEN) or not hasattr(type(value), "__len__"):
        return f"a {kind}"
    try:
        return f"a {kind} of {len(value)}"
    except Exception:
        return f"a {kind}"


@dataclass(frozen=True)
class StateChange:
    """A module global of the design whose value changed during the run."""

    module: str
    name: str
    before: str  # e.g. "a dict of 0", or "absent"
    after: str


@dataclass(frozen=True)
class ThreadStart:
    """A thread the design started on the simulation's thread during the run."""

    name: str
    target: str


@dataclass
class DesignWatch:
    """Context manager around one inline run of a design (see the module docstring).

    After the run: ``changes`` (module state), ``threads`` (threads started),
    ``rebound`` (``module.name`` of each import-bound clock or random function that the
    run reached through its shim)."""

    modules: list[types.ModuleType]
    changes: list[StateChange] = field(default_factory=list)
    threads: list[ThreadStart] = field(default_factory=list)
    rebound: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._own = frozenset(m.__name__ for m in self.modules)
        self._before: dict[tuple[str, str], tuple[str, str]] = {}
        self._swapped: list[tuple[types.ModuleType, str, Any, Any]] = []

    def _globals(self) -> list[tuple[types.ModuleType, str, Any]]:
        out = []
        for module in self.modules:
            names = vars(module)
            for name in _watched_names(module, names):
                out.append((module, name, names[name]))
        return out

    def _fp(self, value: Any, memo: dict[int, str]) -> str:
        if type(value) in _PLAIN_SCALARS:
            return repr(value)
        if isinstance(value, _CODE):
            return f"@{id(value)}"
        if isinstance(value, type):
            if not (type(value) in _PLAIN_METACLASSES and value.__module__ in self._own):
                return f"@{id(value)}"
            if not _data_names(value):  # most classes: methods only, nothing to walk
                return f"class {value.__qualname__}{{}}"
        elif type(value).__module__ not in self._own and not isinstance(value, _WALKED):
            return f"@{id(value)}"  # what ``_Fingerprinter._of`` ends with for it
        return _fingerprint(value, self._own, memo)

    def _snapshot(self, skip: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        memo: dict[int, str] = {}
        with _LOCK:
            fixed = _FIXED.setdefault(self._own, {})
        out = {}
        for module, name, value in self._globals():
            key = (module.__name__, name)
            if key in skip:
                continue
            hit = fixed.get(key)
            if hit is not None and hit[0] is value:
                out[key] = hit[1]
                continue
            fp = self._fp(value, memo)
            entry = out[key] = (fp, _size(value))
            if _fixed(value, fp):
                fixed[key] = (value, entry)
        return out

    def __enter__(self) -> DesignWatch:
        bound = import_bound_shims()
        for module, name, value in self._globals():
            hit = bound.get(id(value))
            if hit is not None and hit[1] is value:
                setattr(module, name, hit[2])
                self._swapped.append((module, name, value, hit[2]))
                self.rebound.append(f"{module.__name__}.{name}")
        # What the modules held when the last watched run of this design ended: only
        # the harness runs between two runs, so that is what this one starts from, and
        # a run costs one snapshot instead of two (the first run of a design takes its
        # own). Designs without process-local state never change it, so it is never
        # stale for them; see the module docstring for the one case it can be.
        with _LOCK:
            last = _LAST.get(self._own)
        fresh = last is None or len(last[0]) != len(self.modules) or any(
            a is not b for a, b in zip(last[0], self.modules, strict=True))
        self._before = self._snapshot(set()) if fresh or last is None else last[1]
        _push(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _pop(self)
        for module, name, real, shim in self._swapped:
            if getattr(module, name, None) is shim:
                setattr(module, name, real)
        after = self._snapshot(set())
        with _LOCK:
            _LAST[self._own] = (tuple(self.modules), after)
        swapped = {(m.__name__, n) for m, n, _, _ in self._swapped}
        for key in sorted((set(self._before) | set(after)) - swapped):
            old, new = self._before.get(key), after.get(key)
            if old is not None and new is not None and old[0] == new[0]:
                continue
            if new is not None and _opaque(new[0]):
                continue  # a library object made or replaced: nothing of ours to read
            self.changes.append(StateChange(
                key[0], key[1], old[1] if old else "absent", new[1] if new else "absent"))

    def record_thread(self, thread: threading.Thread) -> None:
        target = getattr(thread, "_target", None)
        where = (f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
                 if target is not None else f"{type(thread).__module__}."
                                            f"{type(thread).__qualname__}.run")
        self.threads.append(ThreadStart(thread.name, where))


# -- the Thread.start hook: installed while any watch is active, like the shims --------

#: per module (by name, with the module itself), its global names in insertion order
#: and those a snapshot reads, sorted: a module's names rarely change, and sorting and
#: filtering them at every snapshot was a quarter of the watch's cost
_NAMES: dict[str, tuple[types.ModuleType, list[str], list[str]]] = {}


def _watched_names(module: types.ModuleType, names: dict[str, Any]) -> list[str]:
    """The names of ``module``'s globals a snapshot reads (dunders left out), sorted."""
    keys = list(names)
    known = _NAMES.get(module.__name__)
    if known is not None and known[0] is module and known[1] == keys:
        return known[2]
    watched = sorted(name for name in keys
                     if not (name.startswith("__") and name.endswith("__")))
    with _LOCK:
        _NAMES[module.__name__] = (module, keys, watched)
    return watched


#: per set of watched modules, per global, the (value, (fingerprint, size)) of a value
#: whose fingerprint and size depend on its identity alone (``_fixed``): while the global
#: still holds that very object, a snapshot reuses them instead of fingerprinting it
#: again. About three globals in four of a design are code, classes or scalars, and
#: fingerprinting each of them at every snapshot was most of the watch's cost
#: (docs/scale.md, "Fifth session"; tests/simulator/test_watch.py).
_FIXED: dict[frozenset[str], dict[tuple[str, str], tuple[Any, tuple[str, str]]]] = {}


def _fixed(value: Any, fp: str) -> bool:
    """Whether ``value``'s (fingerprint, size) can only change with its identity: an
    immutable scalar, or an object taken by identity that has no length (code, a
    module, a library's object), or a class of the design's with no data attributes
    (``_data_names`` is read once per class)."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if fp.startswith("@"):
        return not hasattr(kind, "__len__")
    return isinstance(value, type) and fp == f"class {value.__qualname__}{{}}"


class _Local(threading.local):
    stack: list[DesignWatch]

    def __init__(self) -> None:
        self.stack = []


_LOCAL = _Local()
_LOCK = threading.Lock()
#: the fingerprints each design's modules ended its last watched run with, by the
#: design's set of modules
_LAST: dict[frozenset[str], tuple[tuple[types.ModuleType, ...],
                                  dict[tuple[str, str], tuple[str, str]]]] = {}
_active = 0
_real_start = threading.Thread.start


def _watched_start(self: threading.Thread) -> None:
    stack = _LOCAL.stack
    if stack:
        stack[-1].record_thread(self)
    _real_start(self)


def _push(watch: DesignWatch) -> None:
    global _active
    with _LOCK:
        if _active == 0:
            threading.Thread.start = _watched_start  # type: ignore[method-assign]
        _active += 1
    _LOCAL.stack.append(watch)


def _pop(watch: DesignWatch) -> None:
    global _active
    _LOCAL.stack.remove(watch)
    with _LOCK:
        _active -= 1
        if _active == 0:
            threading.Thread.start = _real_start  # type: ignore[method-assign]
