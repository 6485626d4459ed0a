"""``ninelives`` re-exports what a scenario needs (docs/scenarios.md), lazily: importing
the package loads none of it, and each name is the owning package's own object."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import ninelives

NAMES = ("Scenario", "Violation", "at_most_once", "exactly_once", "FakeService", "route",
         "Arg", "Response", "World", "Design", "Env", "ToolError", "ToolTimeout")


@pytest.mark.parametrize("name", NAMES)
def test_each_name_is_the_owning_packages_object(name: str) -> None:
    owner = {"Scenario": "scenarios", "Violation": "scenarios", "at_most_once": "scenarios",
             "exactly_once": "scenarios", "FakeService": "fakes", "route": "fakes",
             "Arg": "fakes", "Response": "fakes"}.get(name, "simulator")
    assert getattr(ninelives, name) is getattr(importlib.import_module(owner), name)
    assert name in ninelives.__all__


def test_importing_ninelives_loads_no_scenario_machinery() -> None:
    code = ("import sys, ninelives; "
            "print(sorted(m for m in ('scenarios', 'fakes', 'simulator') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ninelives.Nope  # noqa: B018
