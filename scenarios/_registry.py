"""Scenarios by name, or a user's by import path (``package.module:attr``), as designs.

A user's scenario is loaded once per process and checked for what a scenario needs. Its
name becomes the import path, so every repro line, baseline key and sweep worker carries
the path (a worker loads it again by that name). Its own code (``build``, the model
policy it sets, ``check_safety``, ``final_state``, ``http_doors``) is guarded: if that
code raises during a run, the run ends with ``ScenarioFault`` (an ``InputError``: one
line, exit 2) saying it is the scenario's fault, never a finding about the design
(``tests/scenarios/test_registry_import.py``).
"""

from __future__ import annotations

import copy
import importlib
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ninelives.errors import InputError

from ._abridge import one_line
from ._scenario import Scenario
from ._violation import Violation
from .checkout import Checkout
from .sre_incident import SreIncident
from .subscription_renewal import SubscriptionRenewal

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (Checkout(), SreIncident(),
                                                       SubscriptionRenewal())}


class ScenarioError(InputError):
    """An unknown scenario name, or one a front door cannot run (one-line message)."""

    __module__ = "scenarios"


class ScenarioFault(ScenarioError):
    """A user's scenario is broken: it fails to import or lacks what a scenario needs,
    or its own code (build, policy, invariant, final state) raised during a run. The
    scenario's fault, not the design's: bad input, exit 2, never a violation."""

    __module__ = "scenarios"


#: user scenarios loaded in this process, by import path (loaded once: a sweep asks
#: for its scenario once per seed)
_LOADED: dict[str, Scenario] = {}

_FAULT = "(the scenario's fault, not the design's)"


def get_scenario(name: str) -> Scenario:
    """A registered scenario (``checkout``), or a user's by ``package.module:attr``.

    ``attr`` is a ``Scenario`` subclass (instantiated with no arguments) or instance.
    The current directory is importable, as it is for ``python -m``. ``ScenarioError``
    for an unknown name; ``ScenarioFault`` for a user's scenario that cannot be loaded.
    """
    if name in SCENARIOS:
        return SCENARIOS[name]
    if ":" not in name:
        raise ScenarioError(f"unknown scenario {name!r}: use one of "
                            f"{', '.join(SCENARIOS)}, or package.module:attr")
    loaded = _LOADED.get(name)
    if loaded is None:
        loaded = _LOADED[name] = _load(name)
    return loaded


def _load(spec: str) -> Scenario:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ScenarioFault(f"scenario {spec!r}: give it as package.module:attr")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module failed: report, don't crash
        raise ScenarioFault(f"scenario {spec}: module {module_name!r} failed to import: "
                            f"{type(error).__name__}: {one_line(str(error))} {_FAULT}"
                            ) from error
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ScenarioFault(f"scenario {spec}: module {module_name!r} has no attribute "
                            f"{attr!r}") from None
    return _guard(spec, _as_scenario(spec, obj))


def _as_scenario(spec: str, obj: object) -> Scenario:
    """Fit ``obj`` to a scenario, or say exactly what is missing."""
    if isinstance(obj, type) and issubclass(obj, Scenario):
        try:
            scenario = obj()
        except Exception as error:
            raise ScenarioFault(f"scenario {spec}: {obj.__name__}() raised "
                                f"{type(error).__name__}: {one_line(str(error))} {_FAULT}"
                                ) from error
    elif isinstance(obj, Scenario):
        scenario = copy.copy(obj)  # its name and guards are set on a copy, not the user's
    else:
        what = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise ScenarioFault(f"scenario {spec} is a {what}, not a ninelives.Scenario "
                            "subclass or instance")
    kind = type(scenario)
    missing = [m for m in ("build", "final_state")
               if getattr(kind, m, None) is getattr(Scenario, m)]
    if missing:
        raise ScenarioFault(f"scenario {spec} ({kind.__name__}) does not define "
                            f"{' or '.join(m + '(world)' for m in missing)}: a scenario "
                            "builds its world and names its final state")
    for field in ("tools", "keyed_tools", "invariants"):
        value = getattr(scenario, field, ())
        if not isinstance(value, tuple | list) or not all(isinstance(t, str) for t in value):
            raise ScenarioFault(f"scenario {spec}: {field} must be a tuple of strings, "
                                f"not {value!r}")
    for field in ("fault_window_s", "liveness_bound_s"):
        value = getattr(scenario, field)
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or value <= 0):
            raise ScenarioFault(f"scenario {spec}: {field} must be a positive number of "
                                f"virtual seconds, not {value!r}")
    for field in ("max_ops_per_process", "max_calls_per_tool", "max_model_calls"):
        value = getattr(scenario, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ScenarioFault(f"scenario {spec}: {field} must be a positive integer, "
                                f"not {value!r}")
    return scenario


class _GuardedPolicy:
    """The scenario's model policy, its errors kept: a policy that raises mid-run is
    the scenario's fault. The error reaches the design's process (whatever it does with
    it), and is raised again when the run is checked (``_guard``), so it cannot pass
    as a design finding or be swallowed by a design's retry loop."""

    def __init__(self, spec: str, policy: Any) -> None:
        self._spec = spec
        self._policy = policy
        self.fault: ScenarioFault | None = None

    def __getattr__(self, name: str) -> Any:  # anything else the policy offers
        return getattr(self._policy, name)

    def propose(self, request: dict[str, Any], rng: Any) -> dict[str, Any]:
        return self._call("propose", request, rng)

    def hallucinate(self, request: dict[str, Any], action: dict[str, Any],
                    rng: Any) -> dict[str, Any]:
        return self._call("hallucinate", request, action, rng)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._policy, method)(*args)
        except Exception as error:
            fault = ScenarioFault(f"scenario {self._spec}: its model policy's {method} "
                                  f"raised {type(error).__name__}: "
                                  f"{one_line(str(error))} {_FAULT}")
            fault.__cause__ = error
            if self.fault is None:
                self.fault = fault
            raise fault from error


def _policy_fault(world: Any) -> None:
    """Raise the fault the scenario's policy met in ``world``'s run, if any."""
    policy = getattr(getattr(world, "model", None), "policy", None)
    if isinstance(policy, _GuardedPolicy) and policy.fault is not None:
        raise policy.fault


def _guard(spec: str, scenario: Scenario) -> Scenario:
    """``scenario`` named ``spec``, each of its own methods turned into a one-line
    ``ScenarioFault`` when it raises (set on the instance: the class is the user's)."""
    scenario.name = spec  # type: ignore[misc]  # an instance's name: the import path

    def wrap(what: str, method: Callable[..., Any], *, after_run: bool = False,
             policy: bool = False) -> Callable[..., Any]:
        def guarded(world: Any, *args: Any, **kwargs: Any) -> Any:
            if after_run:
                _policy_fault(world)
            try:
                result = method(world, *args, **kwargs)
            except ScenarioError:
                raise
            except Exception as error:
                raise ScenarioFault(f"scenario {spec}: its {what} raised "
                                    f"{type(error).__name__}: {one_line(str(error))} "
                                    f"{_FAULT}") from error
            if what.startswith("invariants") and not (
                    isinstance(result, list) and all(isinstance(v, Violation) for v in result)):
                raise ScenarioFault(f"scenario {spec}: its check_safety must return a list "
                                    f"of Violation, not {type(result).__name__} {_FAULT}")
            if policy and world.model.policy is not None:
                world.model.policy = _GuardedPolicy(spec, world.model.policy)
            return result

        guarded.__doc__ = method.__doc__
        return guarded

    scenario.build = wrap("build", scenario.build, policy=True)  # type: ignore[method-assign]
    scenario.http_doors = wrap("http_doors", scenario.http_doors)  # type: ignore[method-assign]
    scenario.check_safety = wrap(  # type: ignore[method-assign]
        "invariants (check_safety)", scenario.check_safety, after_run=True)
    scenario.final_state = wrap(  # type: ignore[method-assign]
        "final_state", scenario.final_state, after_run=True)
    return scenario
