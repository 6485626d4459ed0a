"""``DesignWatch``: what an inline run reports about a design's own process (module
state that changed, threads started) and how it reaches clocks bound at import."""

from __future__ import annotations

import random
import sys
import threading
import time
import types
from collections.abc import Iterator

import pytest

from simulator import DesignWatch, design_modules


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    """A design module of its own top-level package, registered like an import."""
    mod = types.ModuleType("watchedpkg_test")
    mod.__file__ = "/nowhere/watchedpkg_test.py"
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def _define(mod: types.ModuleType, source: str) -> None:
    exec(compile(source, mod.__file__ or "", "exec"), vars(mod))


def test_a_module_dict_that_changes_is_named(module: types.ModuleType) -> None:
    _define(module, "STEPS = {}\nCONSTANT = {'a': [1, 2]}\n")
    watch = DesignWatch([module])
    with watch:
        module.STEPS["wf/0"] = {"done": True}
    assert [(c.module, c.name, c.before, c.after) for c in watch.changes] == [
        ("watchedpkg_test", "STEPS", "a dict of 0", "a dict of 1")]


def test_unchanged_state_is_no_finding_whatever_the_order(module: types.ModuleType) -> None:
    _define(module, "NAMES = set()\nTABLE = {}\n")
    with DesignWatch([module]):
        module.NAMES.update(f"n{i}" for i in range(50))
    # Emptied and refilled with the same members in another order: a set's value is the
    # same, so no change; the fingerprint never depends on iteration order.
    watch = DesignWatch([module])
    with watch:
        module.NAMES.clear()
        module.NAMES.update(f"n{i}" for i in reversed(range(50)))
    assert watch.changes == []


def test_state_in_a_class_attribute_or_an_own_object_is_found(
        module: types.ModuleType) -> None:
    _define(module, "class Memory:\n    steps = {}\n"
                    "class Box:\n    def __init__(self):\n        self.items = []\n"
                    "BOX = Box()\n")
    watch = DesignWatch([module])
    with watch:
        module.Memory.steps["x"] = 1
        module.BOX.items.append(1)
    assert sorted(c.name for c in watch.changes) == ["BOX", "Memory"]


def test_a_library_object_made_lazily_is_not_state(module: types.ModuleType) -> None:
    _define(module, "_client = None\n")
    watch = DesignWatch([module])
    with watch:
        module._client = threading.Lock()  # stands for an HTTP client made on first use
    assert watch.changes == []


def test_a_generator_drawn_from_is_state(module: types.ModuleType) -> None:
    _define(module, "import random\nRNG = random.Random(7)\n")
    watch = DesignWatch([module])
    with watch:
        module.RNG.random()
    assert [c.name for c in watch.changes] == ["RNG"]


def test_threads_started_on_the_runs_thread_are_recorded(module: types.ModuleType) -> None:
    def work() -> None:
        pass

    seen_elsewhere: list[threading.Thread] = []
    watch = DesignWatch([module])
    with watch:
        t = threading.Thread(target=work, name="mine")
        t.start()
        t.join()

        def other() -> None:  # a thread of someone else's, starting one of its own
            inner = threading.Thread(target=work, name="theirs")
            inner.start()
            inner.join()
            seen_elsewhere.append(inner)

        o = threading.Thread(target=other, name="outsider-starter")
        o.start()
        o.join()
    assert [t.name for t in watch.threads] == ["mine", "outsider-starter"]
    assert seen_elsewhere and watch.threads[0].target.endswith("work")
    assert threading.Thread.start.__name__ == "start"  # restored


def test_a_clock_bound_at_import_reads_the_shim_during_the_run(
        module: types.ModuleType) -> None:
    _define(module, "from time import time\nfrom random import random\n")
    real_time, real_random = module.time, module.random
    assert real_time is time.time and real_random is random.random
    watch = DesignWatch([module])
    with watch:
        assert module.time is not real_time and module.random is not real_random
        # Outside a simulated run the shim answers as the real function.
        assert abs(module.time() - real_time()) < 5
    assert module.time is real_time and module.random is real_random
    assert watch.rebound == ["watchedpkg_test.random", "watchedpkg_test.time"]
    assert watch.changes == []


def test_design_modules_are_those_reachable_from_the_entry_point() -> None:
    from reference_agent import DESIGNS

    names = [m.__name__ for m in design_modules(DESIGNS["reference"].main)]
    assert "reference_agent._worker" in names and "reference_agent._executor" in names
    assert not any(".flawed." in n for n in names)  # other designs of the package: no
    trap = [m.__name__ for m in design_modules(DESIGNS["module-state"].main)]
    assert "reference_agent.flawed._module_state" in trap  # through the closure's class
    assert design_modules(time.time) == []  # the standard library is never a design


def test_globals_taken_by_identity_are_reused_only_while_they_hold_the_same_object(
        module: types.ModuleType) -> None:
    # Snapshots reuse the fingerprint of a global that still holds the same scalar,
    # function or data-less class (simulator/_watch.py, ``_FIXED``): a rebinding to
    # another value must still be seen, run after run.
    _define(module, "COUNT = 0\nLABEL = 'a'\nclass Plain:\n    pass\n"
                    "def f():\n    return 1\n")
    for run in range(3):
        watch = DesignWatch([module])
        with watch:
            module.COUNT += 1
        changed = [c.name for c in watch.changes]
        assert changed == ["COUNT"], (run, changed)
    watch = DesignWatch([module])
    with watch:
        module.LABEL = "b"
        module.f = lambda: 2  # code rebound: taken by identity, never state
    assert [(c.name, c.before, c.after) for c in watch.changes] == [
        ("LABEL", "a str of 1", "a str of 1")]
