"""One set of argument types: every typed option of every subcommand is typed with
``ninelives.cli._args``, and no bad value makes argparse print a Python name."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

import ninelives.cli
from ninelives.cli import _args

#: values every argument type must refuse, or take, without raising anything else
GARBAGE = ("", "x", "-1", "0", "1.5", "nan", "inf", "1e999", "99999999999999999999",
           "1,0", ",", "http://", "/no/such/dir/f", "/", " ", __file__)


def _typed_options() -> Iterator[tuple[str, argparse.Action]]:
    parser = ninelives.cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sorted(sub.choices.items()):
        for action in command._actions:
            if action.type is not None:
                yield f"{name} {'/'.join(action.option_strings) or action.dest}", action


OPTIONS = list(_typed_options())


def test_there_are_typed_options_to_check() -> None:
    assert len(OPTIONS) >= 30  # every subcommand's, real mode's included


@pytest.mark.parametrize(("where", "action"), OPTIONS, ids=[w for w, _ in OPTIONS])
def test_every_typed_option_uses_a_shared_argument_type(where: str,
                                                        action: argparse.Action) -> None:
    assert getattr(action.type, "__module__", None) == "ninelives.cli._args", where


@pytest.mark.parametrize("arg_type", sorted({a.type for _, a in OPTIONS},
                                            key=lambda t: t.__name__),
                         ids=lambda t: t.__name__)
def test_a_bad_value_is_a_plain_message(arg_type: object) -> None:
    # argparse prints "invalid <function name> value" for any exception but
    # ArgumentTypeError: the types must raise nothing else, and name no function.
    assert callable(arg_type)
    refused = 0
    for text in GARBAGE:
        try:
            arg_type(text)
        except argparse.ArgumentTypeError as exc:
            refused += 1
            message = str(exc)
            assert message and "\n" not in message
            assert arg_type.__name__ not in message  # type: ignore[attr-defined]
            assert "invalid" not in message and "Error" not in message
    assert refused > 0


@pytest.mark.parametrize(("text", "message"), [
    ("0", "must be >= 1, got 0"),
    ("-4", "must be >= 1, got -4"),
    ("three", "must be an integer, got 'three'"),
    ("2.0", "must be an integer, got '2.0'"),
])
def test_count_messages_name_the_value(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        _args.count_arg(text)
    assert str(info.value) == message


def test_the_message_names_the_option_through_argparse(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert ninelives.cli.main(["run", "--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert err == ("ninelives: error: argument --seeds: must be >= 1, got 0 "
                   "(see 'ninelives run --help')\n")


def test_the_public_names_of_the_package_stay() -> None:
    from ninelives.cli import DEFAULT_SEEDS, UsageError, build_parser, default_workers, main
    from ninelives.engine import DEFAULT_SEEDS as ENGINE_DEFAULT

    assert DEFAULT_SEEDS == ENGINE_DEFAULT and default_workers() >= 1 and callable(main)
    assert issubclass(UsageError, ValueError)
    assert isinstance(build_parser(), argparse.ArgumentParser)


def test_python_m_ninelives_cli_is_the_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "ninelives.cli", "list"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "scenarios" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "ninelives.cli", "run", "--seeds", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ninelives: error: argument --seeds: must be >= 1")


def test_building_the_parser_imports_no_harness() -> None:
    # Subcommand modules (real mode's included) register at import; the harness, the
    # reports and real mode's trio/httpx load only when a handler runs.
    code = ("import json, sys, ninelives.cli; ninelives.cli.build_parser(); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    heavy = {"simulator", "scenarios", "faults", "reference_agent", "pydantic", "rich",
             "trio", "httpx", "uvicorn"}
    assert not set(json.loads(out)) & heavy
