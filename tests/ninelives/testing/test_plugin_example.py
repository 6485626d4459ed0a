"""The documented example (examples/test_my_agent.py with its design in
examples/my_agent/) runs as a user would run it, and its flawed variant is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import hypothesis  # noqa: F401
import pytest

import reference_agent  # noqa: F401
import scenarios  # noqa: F401

# (imported once here rather than by each in-process run: see test_plugin_sweep.py)
pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_example_suite_passes_and_catches_random_keys(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES / "my_agent", pytester.path / "my_agent",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(EXAMPLES / "test_my_agent.py", pytester.path / "test_my_agent.py")
    result = pytester.runpytest("-p", "no:cacheprovider", "--ninelives-seeds", "30", "-rx")
    result.assert_outcomes(passed=4, xfailed=1)
    out = result.stdout.str()
    assert ("test_my_agent.py::test_random_keys_are_caught: checkout x "
            "my_agent.design:design_with_random_keys, ") in out
    assert "(exactly-once-charge)" in out
    assert ("test_my_agent.py::test_checkout_survives_faults: checkout x "
            "my_agent.design:design, 30 seeds run, no violations") in out
