"""The pytest plugin, driven through pytester: sweeps that pass, sweeps that fail with
the commands that reproduce them, the seed options, chunking, the fixture, the report
section and usage errors. The plugin is loaded by its ``pytest11`` entry point, as in a
user's project (the package is installed in editable mode)."""

from __future__ import annotations

import re

import hypothesis  # noqa: F401
import pytest

import reference_agent  # noqa: F401
import scenarios  # noqa: F401

# pytester's in-process runs drop the modules they imported when they end; imported here
# first, the harness and Hypothesis (whose plugin imports it at the end of every session,
# seconds with assertion rewriting) are imported once, not once per inner run.
pytest_plugins = ["pytester"]

FAILING = """
import pytest

@pytest.mark.ninelives(scenario="checkout", design="fresh-uuid-keys", seeds=20)
def test_uuid_keys():
    pass
"""

REPRO = re.compile(r"^\s*pytest (\S+) --ninelives-seed (\d+)$", re.M)
REPLAY = re.compile(r"^\s*ninelives replay --scenario (\S+) --design (\S+) --seed (\d+)$",
                    re.M)


def section(output: str) -> list[str]:
    """The lines of the "ninelives" terminal report section."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^=+ ninelives =+$", line))
    out = []
    for line in lines[start + 1:]:
        if line.startswith("="):
            break
        out.append(line)
    return out


def test_a_passing_sweep_hands_its_summary_to_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_ok="""
        import pytest

        @pytest.mark.ninelives(scenario="checkout", design="reference", seeds=20,
                               first_seed=5)
        def test_reference(ninelives_result):
            assert ninelives_result.ok
            assert ninelives_result.seeds == list(range(5, 25))
            assert ninelives_result.scenario == "checkout"
            assert ninelives_result.design == "reference"
            assert ninelives_result.situations["process-restarted"] > 0
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert section(result.stdout.str()) == [
        "test_ok.py::test_reference: checkout x reference, 20 seeds run, no violations"]


def test_a_failing_sweep_names_the_invariant_and_ends_with_the_repro_commands(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=FAILING)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    head = re.search(r"ninelives: checkout x fresh-uuid-keys broke (\S+) at seed (\d+)", out)
    assert head, out
    invariant, seed = head.group(1), int(head.group(2))
    assert seed < 20  # this flawed design fails within the first few seeds
    assert "evidence: {" in out
    assert "invariant: " in out
    # The message ends with the two commands, for exactly the failing seed.
    lines = [line.strip() for line in out.splitlines()]
    at = lines.index("reproduce with:")
    assert lines[at + 1] == f"pytest test_bad.py::test_uuid_keys --ninelives-seed {seed}"
    assert lines[at + 2] == (f"ninelives replay --scenario checkout --design fresh-uuid-keys "
                             f"--seed {seed}")
    [row] = section(out)
    assert row.startswith("test_bad.py::test_uuid_keys: checkout x fresh-uuid-keys, ")
    assert f"first failing seed {seed} ({invariant})" in row


def test_the_printed_command_reruns_exactly_the_failing_seed(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=FAILING)
    first = pytester.runpytest().stdout.str()
    nodeid, seed = REPRO.search(first).groups()
    again = pytester.runpytest(nodeid, "--ninelives-seed", seed)
    again.assert_outcomes(failed=1)
    out = again.stdout.str()
    assert [row.split(": ", 1)[1] for row in section(out)] == [
        f"checkout x fresh-uuid-keys, 1 seed run, 1 failing seed, first failing seed {seed} "
        + re.search(r"\(([^)]+)\)$", section(first)[0]).group(0)]
    assert REPRO.search(out).groups() == (nodeid, seed)
    assert REPLAY.search(out).groups() == ("checkout", "fresh-uuid-keys", seed)


def test_seed_options_choose_the_seeds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_seeds="""
        import json, pytest

        @pytest.mark.ninelives(scenario="checkout", design="reference", seeds=50,
                               first_seed=100)
        def test_sweep(ninelives_result):
            print("SEEDS", json.dumps(ninelives_result.seeds))
    """)
    one = pytester.runpytest("-s", "--ninelives-seed", "7")
    one.assert_outcomes(passed=1)
    assert "SEEDS [7]" in one.stdout.str()
    few = pytester.runpytest("-s", "--ninelives-seeds", "3")
    few.assert_outcomes(passed=1)
    assert "SEEDS [100, 101, 102]" in few.stdout.str()


def failing_then_passing_window(design: str, width: int = 5) -> int:
    """The first seed ``s`` of checkout x ``design`` such that seeds s..s+width-1 include
    a failing one and the next ``width`` seeds none (found, not pinned: any change to
    the simulation's streams moves the failing seeds)."""
    from reference_agent import load_design
    from scenarios import Baselines, get_scenario, run_seed

    scenario, flawed, baselines = get_scenario("checkout"), load_design(design), Baselines()
    failing = [bool(run_seed(scenario, flawed, s, baselines=baselines).violations)
               for s in range(200)]
    return next(s for s in range(200 - 2 * width)
                if any(failing[s:s + width]) and not any(failing[s + width:s + 2 * width]))


def test_chunks_split_a_sweep_into_items_and_the_section_merges_them(
        pytester: pytest.Pytester) -> None:
    first = failing_then_passing_window("fresh-uuid-keys")
    pytester.makepyfile(test_chunks=f"""
        import pytest

        @pytest.mark.ninelives(scenario="checkout", design="reference", seeds=9, chunks=3)
        def test_sweep(ninelives_result):
            assert ninelives_result.seeds_run == 3

        @pytest.mark.parametrize("flavour", ["a"])
        @pytest.mark.ninelives(scenario="checkout", design="fresh-uuid-keys", seeds=10,
                               first_seed={first}, chunks=2)
        def test_bad(flavour):
            pass
    """)
    result = pytester.runpytest("-v")
    out = result.stdout.str()
    for chunk in ("seeds0-2", "seeds3-5", "seeds6-8"):
        assert f"test_chunks.py::test_sweep[{chunk}] PASSED" in out
    # (the order of the ids of two parametrisations is pytest's business)
    bad, good = f"seeds{first}-{first + 4}", f"seeds{first + 5}-{first + 9}"
    assert re.search(rf"test_bad\[(a-{bad}|{bad}-a)\] FAILED", out)
    assert re.search(rf"test_bad\[(a-{good}|{good}-a)\] PASSED", out)
    rows = section(out)
    assert "test_chunks.py::test_sweep: checkout x reference, 9 seeds run, no violations" in rows
    # The repro names the test without the chunk, which --ninelives-seed reruns as one item.
    nodeid, seed = REPRO.search(out).groups()
    assert nodeid == "'test_chunks.py::test_bad[a]'"
    again = pytester.runpytest("test_chunks.py::test_bad[a]", "--ninelives-seed", seed)
    again.assert_outcomes(failed=1)


def test_the_fixture_sweeps_inside_a_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixture="""
        import pytest

        @pytest.mark.parametrize("design", ["reference", "naive-loop"])
        def test_design(ninelives_sweep, design):
            ninelives_sweep("checkout", design, seeds=10)

        def test_unchecked(ninelives_sweep):
            summary = ninelives_sweep("checkout", "naive-loop", seeds=10, check=False,
                                      max_failures=None)
            assert summary.seeds_run == 10 and not summary.ok
            assert summary.failing_seeds == sorted(summary.failing_seeds)
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    nodeid, _ = REPRO.search(out).groups()
    assert nodeid == "'test_fixture.py::test_design[naive-loop]'"
    rows = section(out)
    assert len(rows) == 3
    assert rows[1].startswith("test_fixture.py::test_design[reference]: checkout x reference, "
                              "10 seeds run, no violations")
    assert "test_fixture.py::test_unchecked: checkout x naive-loop, 10 seeds run" in rows[2]


def test_bad_names_fail_with_one_line_and_bad_arguments_are_usage_errors(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_names="""
        import pytest

        @pytest.mark.ninelives(scenario="checkout", design="no-such-design", seeds=2)
        def test_design():
            pass

        @pytest.mark.ninelives(scenario="no-such-scenario", seeds=2)
        def test_scenario():
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*ninelives: unknown design 'no-such-design'*",
                                 "*ninelives: unknown scenario 'no-such-scenario'*"])
    assert "Traceback" not in result.stdout.str()
    # The message alone, not also the exception it was made from.
    assert "During handling of the above exception" not in result.stdout.str()
    assert "unknown scenario 'no-such-scenario'" not in result.stdout.str().replace(
        "ninelives: unknown scenario 'no-such-scenario'", "")

    pytester.makepyfile(test_names="""
        import pytest

        @pytest.mark.ninelives(scenario="checkout", seed=3)
        def test_typo():
            pass
    """)
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*got an unknown argument 'seed'*"])


def test_the_result_fixture_needs_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nomark="""
        def test_plain(ninelives_result):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs @pytest.mark.ninelives*"])


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.ninelives(scenario, design='reference'*"])
    pytester.makepyfile(test_strict="""
        import pytest

        @pytest.mark.ninelives(scenario="checkout", seeds=1)
        def test_one():
            pass
    """)
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_a_module_marker_applies_and_the_digest_reaches_junit_xml(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_module_mark="""
        import pytest

        pytestmark = pytest.mark.ninelives(scenario="checkout", seeds=3)

        def test_one(ninelives_result):
            assert ninelives_result.seeds == [0, 1, 2]
    """)
    result = pytester.runpytest("--junitxml", "out.xml")
    result.assert_outcomes(passed=1)
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="ninelives" value="{' in xml
    assert "&quot;seeds_run&quot;: 3" in xml


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_any="def test_x(): pass")
    for option, value, message in (("--ninelives-seeds", "0", "must be >= 1, got 0"),
                                   ("--ninelives-seed", "-1", "must be >= 0, got -1"),
                                   ("--ninelives-chunks", "0", "must be >= 1, got 0"),
                                   ("--ninelives-seeds", "ten",
                                    "must be an integer, got 'ten'")):
        result = pytester.runpytest(option, value)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*{option}: {message}*"])


def test_a_seed_that_does_not_reproduce_fails_the_test(pytester: pytest.Pytester) -> None:
    # The design waits longer every run it starts in this process: inline, the same seed
    # is not the same run twice (ninelives/engine/_reproduce.py), and its counter is
    # module state. In process isolation (a user design's default) every incarnation
    # starts with fresh module globals, as a real process does: the seed names one run.
    pytester.makepyfile(counting_design='''
        from reference_agent import reference_main
        from simulator import Design

        STARTS = [0]

        async def main(env):
            STARTS[0] += 1
            await env.clock.sleep(STARTS[0])
            await reference_main(env)

        design = Design(name="counting", main=main)
    ''')
    pytester.makepyfile(test_counting='''
        import pytest

        @pytest.mark.ninelives(scenario="checkout", design="counting_design:design", seeds=3,
                               isolation="inline")
        def test_counting():
            pass

        @pytest.mark.ninelives(scenario="checkout", design="counting_design:design", seeds=3)
        def test_counting_isolated(ninelives_result):
            assert ninelives_result.isolation == "process"
            assert ninelives_result.nondeterminism is None

        @pytest.mark.ninelives(scenario="checkout", design="reference", seeds=3)
        def test_reference(ninelives_result):
            assert ninelives_result.nondeterminism is None
    ''')
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=2)
    # Inline, its counter is module state, which the inline run names before the sweep
    # runs a seed twice (simulator/_watch.py); either way that test fails.
    result.stdout.fnmatch_lines([
        "*ninelives: checkout x counting_design:design broke process-local-state at seed 0*"])
