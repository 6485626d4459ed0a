"""A user's scenario loaded by import path (``package.module:attr``), as designs are:
what a good one does, and the one-line ``ScenarioFault`` for each way one is broken."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ninelives.errors import InputError
from reference_agent import DESIGNS
from scenarios import SCENARIOS, ScenarioError, ScenarioFault, get_scenario, run_seed

GOOD = """
from scenarios.checkout import Checkout

class Shop(Checkout):
    description = "checkout, by import path"

shop = Shop()
not_a_scenario = 42

class NoFinal(Checkout.__mro__[1]):
    def build(self, world):
        pass
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """Write a module into a fresh importable directory; return its module name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def write(source: str) -> str:
        name = f"user_scen_{request.node.name.replace('[', '_').replace(']', '_')}_{len(made)}"
        name = "".join(c if c.isalnum() else "_" for c in name)
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        made.append(name)
        return name

    yield write
    for name in made:
        sys.modules.pop(name, None)


def test_a_subclass_or_an_instance_loads_named_by_its_path(
        user_module: Callable[[str], str]) -> None:
    mod = user_module(GOOD)
    by_class = get_scenario(f"{mod}:Shop")
    by_instance = get_scenario(f"{mod}:shop")
    assert by_class.name == f"{mod}:Shop" and by_instance.name == f"{mod}:shop"
    assert by_class.tools == SCENARIOS["checkout"].tools
    assert get_scenario(f"{mod}:Shop") is by_class  # loaded once per process
    from scenarios.checkout import Checkout
    assert Checkout.name == "checkout"  # the user's class is not renamed


def test_a_loaded_scenario_finds_what_the_builtin_finds_and_repro_names_the_path(
        user_module: Callable[[str], str]) -> None:
    mod = user_module(GOOD)
    spec = f"{mod}:Shop"
    design = DESIGNS["fresh-uuid-keys"]
    builtin = run_seed(SCENARIOS["checkout"], design, 1)
    mine = run_seed(get_scenario(spec), design, 1)
    assert [v.invariant for v in builtin.violations] == ["exactly-once-charge"]
    assert [v.invariant for v in mine.violations] == [v.invariant for v in builtin.violations]
    assert mine.final_state == builtin.final_state
    assert mine.scenario == spec
    assert f"--scenario {spec} " in mine.violations[0].repro


def test_an_unknown_plain_name_says_how_to_give_a_path() -> None:
    with pytest.raises(ScenarioError, match=r"use one of checkout.*package.module:attr"):
        get_scenario("refunds")


@pytest.mark.parametrize(("source", "attr", "message"), [
    ("import not_a_module_anywhere\n", "x",
     r"failed to import: ModuleNotFoundError.*the scenario's fault"),
    ("raise RuntimeError('boom at import')\n", "x",
     r"failed to import: RuntimeError: boom at import \(the scenario's fault"),
    (GOOD, "missing", r"has no attribute 'missing'"),
    (GOOD, "not_a_scenario", r"is a int, not a ninelives.Scenario"),
    (GOOD, "NoFinal", r"does not define final_state\(world\)"),
    ("from scenarios import Scenario\nclass Bare(Scenario):\n    pass\n", "Bare",
     r"does not define build\(world\) or final_state\(world\)"),
    (GOOD + "\nclass Bad(Shop):\n    fault_window_s = -1\n", "Bad",
     r"fault_window_s must be a positive number"),
    (GOOD + "\nclass Bad(Shop):\n    tools = 'payments.charge'\n", "Bad",
     r"tools must be a tuple of strings"),
    (GOOD + "\nclass Bad(Shop):\n    def __init__(self):\n        raise KeyError('k')\n",
     "Bad", r"Bad\(\) raised KeyError"),
])
def test_a_broken_scenario_is_one_line_naming_it(user_module: Callable[[str], str],
                                                 source: str, attr: str, message: str) -> None:
    mod = user_module(source)
    with pytest.raises(ScenarioFault, match=message) as caught:
        get_scenario(f"{mod}:{attr}")
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"scenario {mod}:{attr}")
    assert isinstance(caught.value, InputError)


RAISES = GOOD + """
from scenarios.checkout import CheckoutPolicy

class BadBuild(Shop):
    def build(self, world):
        raise ZeroDivisionError("no orders")

class BadInvariant(Shop):
    def check_safety(self, world):
        raise KeyError("ledger")

class BadReturn(Shop):
    def check_safety(self, world):
        return None

class BadFinal(Shop):
    def final_state(self, world):
        raise ValueError("no state")

class Sulky(CheckoutPolicy):
    def propose(self, request, rng):
        raise LookupError("script ran out")

class BadPolicy(Shop):
    def build(self, world):
        super().build(world)
        world.model.policy = Sulky()
"""


@pytest.mark.parametrize(("attr", "message"), [
    ("BadBuild", r"its build raised ZeroDivisionError: no orders"),
    ("BadInvariant", r"its invariants \(check_safety\) raised KeyError"),
    ("BadFinal", r"its final_state raised ValueError: no state"),
    ("BadReturn", r"its check_safety must return a list of Violation, not NoneType"),
    ("BadPolicy", r"its model policy's propose raised LookupError: script ran out"),
])
def test_a_scenario_that_raises_in_a_run_is_its_fault_not_a_finding(
        user_module: Callable[[str], str], attr: str, message: str) -> None:
    """The reference design catches tool and model errors and retries: a policy that
    raises must still end the run as the scenario's fault, not pass or blame the design."""
    mod = user_module(RAISES)
    scenario = get_scenario(f"{mod}:{attr}")
    with pytest.raises(ScenarioFault, match=message) as caught:
        run_seed(scenario, DESIGNS["reference"], 1)
    assert "the scenario's fault, not the design's" in str(caught.value)
    assert "\n" not in str(caught.value)
