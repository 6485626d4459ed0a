"""One error tree with one root, and every public exception prints its public module.

The walk below finds every class under ``NineLivesError`` that the packages define, so a
new exception class is checked without being listed here: it must name a public module
that exports it (else a traceback shows ``pkg._private.Error`` and ``pickle`` between
worker processes depends on a private path).
"""

from __future__ import annotations

import importlib
import pickle
import traceback

import pytest

import faults
import ninelives.cli
import ninelives.engine
import ninelives.hypothesis
import ninelives.real
import reference_agent
import scenarios
import simulator
from ninelives.errors import HarnessError, InputError, NineLivesError

# the packages whose classes the walk sees (importing them defines every class)
PACKAGES = (faults, ninelives.cli, ninelives.engine, ninelives.hypothesis, ninelives.real,
            reference_agent, scenarios, simulator)


def _tree(root: type[BaseException]) -> list[type[BaseException]]:
    seen: list[type[BaseException]] = []
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    # Only ninelives' own classes: a test elsewhere may subclass one for its own ends.
    tops = ("ninelives", "simulator", "fakes", "faults", "scenarios", "reference_agent")
    return sorted((c for c in seen if c.__module__.split(".")[0] in tops),
                  key=lambda c: c.__qualname__)


def _instance(cls: type[BaseException]) -> BaseException:
    if cls is simulator.ToolTimeout:
        return cls("charge", 3.0)
    if cls is simulator.ToolError:
        return cls("charge", 402, {"error": {"type": "card_error"}})
    if cls is ninelives.hypothesis.SimulationFailure:
        return cls("boom", [])
    return cls("boom")


#: the tree as docs/errors.md draws it: class -> (public module, the branch it is on)
EXPECTED: dict[str, tuple[str, type[BaseException]]] = {
    "NineLivesError": ("ninelives.errors", NineLivesError),
    "InputError": ("ninelives.errors", InputError),
    "OutputError": ("ninelives.errors", InputError),
    "DaskUnavailable": ("ninelives.errors", InputError),
    "UsageError": ("ninelives.cli", InputError),
    "ScenarioError": ("scenarios", InputError),
    "ScenarioFault": ("scenarios", InputError),
    "DesignError": ("reference_agent", InputError),
    "PlanError": ("faults", InputError),
    "IsolationError": ("simulator", InputError),
    "HarnessError": ("ninelives.errors", HarnessError),
    "KernelError": ("simulator", HarnessError),
    "TimeTravelError": ("simulator", HarnessError),
    "ToolTimeout": ("simulator", NineLivesError),
    "ToolError": ("simulator", NineLivesError),
    "ModelTimeout": ("simulator", NineLivesError),
    "StoreConflict": ("simulator", NineLivesError),
    "SimTimeout": ("simulator", NineLivesError),
    "SimulationFailure": ("ninelives.hypothesis", NineLivesError),
}


def test_the_tree_holds_every_documented_class_on_its_branch() -> None:
    found = {c.__name__: c for c in _tree(NineLivesError)}
    assert set(found) == set(EXPECTED)
    for name, (module, branch) in EXPECTED.items():
        assert found[name].__module__ == module, name
        assert issubclass(found[name], branch), name


@pytest.mark.parametrize("cls", _tree(NineLivesError), ids=lambda c: c.__name__)
def test_each_error_prints_its_public_module(cls: type[BaseException]) -> None:
    module = cls.__module__
    assert not any(part.startswith("_") for part in module.split(".")), module
    assert getattr(importlib.import_module(module), cls.__name__) is cls
    error = _instance(cls)
    [line] = traceback.format_exception_only(error)
    assert line.startswith(f"{module}.{cls.__name__}: ")
    # Raised and caught, the traceback's last line says the same.
    try:
        raise error
    except BaseException as caught:  # any class of the tree
        text = "".join(traceback.format_exception(caught))
    assert f"\n{module}.{cls.__name__}: " in text


@pytest.mark.parametrize("cls", [c for c in _tree(NineLivesError)
                                 if c not in (simulator.ToolTimeout, simulator.ToolError,
                                              ninelives.hypothesis.SimulationFailure)],
                         ids=lambda c: c.__name__)
def test_an_error_crosses_a_process_boundary(cls: type[BaseException]) -> None:
    # A worker process pickles what it raises; the class is found by its public module.
    error = pickle.loads(pickle.dumps(_instance(cls)))
    assert type(error) is cls and str(error) == "boom"


def test_port_errors_keep_the_builtin_base_a_design_catches() -> None:
    assert issubclass(simulator.ToolTimeout, TimeoutError)
    assert issubclass(simulator.ModelTimeout, TimeoutError)
    assert issubclass(simulator.SimTimeout, TimeoutError)
    assert issubclass(HarnessError, RuntimeError)
    assert issubclass(InputError, ValueError)
    assert issubclass(ninelives.hypothesis.SimulationFailure, AssertionError)


@pytest.mark.parametrize("cls", [simulator.Cancelled, simulator.RunAborted],
                         ids=lambda c: c.__name__)
def test_control_flow_stays_outside_the_tree(cls: type[BaseException]) -> None:
    # A design's ``except Exception`` must not swallow a cancellation or a watchdog's abort.
    assert not issubclass(cls, Exception)
    assert not issubclass(cls, NineLivesError)
    [line] = traceback.format_exception_only(cls())
    assert line.startswith(f"simulator.{cls.__name__}")


@pytest.mark.parametrize("cls", [reference_agent.LeaseLost, reference_agent.ProposalError],
                         ids=lambda c: c.__name__)
def test_a_designs_own_errors_are_not_the_harness_errors(cls: type[BaseException]) -> None:
    # The reference design's exceptions are findings when they escape, never bad input.
    assert not issubclass(cls, NineLivesError)
    [line] = traceback.format_exception_only(cls("boom"))
    assert line == f"reference_agent.{cls.__name__}: boom\n"
