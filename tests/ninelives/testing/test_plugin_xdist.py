"""The pytest plugin under pytest-xdist: a sweep run on workers fails the same way, with
the same reproduction lines, and the controller still prints the "ninelives" section
(sweep digests travel in the reports' user_properties)."""

from __future__ import annotations

import re

import hypothesis  # noqa: F401
import pytest

import reference_agent  # noqa: F401
import scenarios  # noqa: F401

# (imported once here rather than by each in-process run: see test_plugin_sweep.py)

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.ninelives(scenario="checkout", design="fresh-uuid-keys", seeds=20)
def test_uuid_keys():
    pass

@pytest.mark.ninelives(scenario="checkout", design="reference", seeds=12, chunks=3)
def test_reference(ninelives_result):
    assert ninelives_result.seeds_run == 4
"""


def failure_block(output: str) -> list[str]:
    """The failure message of test_uuid_keys, from its first line to the replay line."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ninelives: checkout"))
    end = next(i for i in range(start, len(lines)) if "ninelives replay" in lines[i])
    return [line.strip() for line in lines[start:end + 1]]


def section(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^=+ ninelives =+$", line))
    return [line for line in lines[start + 1:start + 3]]


def test_xdist_reports_the_same_failure_and_the_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dist=TESTS)
    plain = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    plain.assert_outcomes(passed=3, failed=1)
    # A subprocess, as a user's run: the controller and its workers each find the plugin
    # by its entry point.
    # (Hypothesis and faker are not needed here: not loading them saves seconds a process.)
    dist = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                         "-p", "no:faker", "-p", "xdist", "-n", "2")
    dist.assert_outcomes(passed=3, failed=1)
    out = dist.stdout.str()
    assert "2 workers" in out
    assert failure_block(out) == failure_block(plain.stdout.str())
    assert failure_block(out)[-2].startswith("pytest test_dist.py::test_uuid_keys "
                                             "--ninelives-seed ")
    assert section(out) == section(plain.stdout.str())
    assert section(out)[0] == ("test_dist.py::test_reference: checkout x reference, "
                               "12 seeds run, no violations")
