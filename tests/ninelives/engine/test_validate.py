"""The validators every front door shares: each returns the value or raises InputError
with one plain line naming the input (when named) and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

import ninelives.engine as engine
from ninelives.engine import (
    parse_int,
    parse_number,
    parse_range,
    require_at_least,
    require_count,
    require_one_of,
    require_port,
    require_positive,
    require_probability,
    require_seed,
    require_url,
    require_writable_dir,
    require_writable_file,
)
from ninelives.errors import InputError


def _message(call: object, *args: object) -> str:
    with pytest.raises(InputError) as info:
        call(*args)  # type: ignore[operator]
    return str(info.value)


def test_valid_values_come_back_converted() -> None:
    assert parse_int(" 42 ") == 42 and parse_int("-3") == -3
    assert parse_number("1e3") == 1000.0
    assert require_count(1) == 1 and require_seed(0) == 0
    assert require_positive(2) == 2.0 and require_probability(1) == 1.0
    assert require_port(0) == 0 and require_port(65535) == 65535
    assert parse_range("5") == (5.0, 5.0) and parse_range("1,2.5") == (1.0, 2.5)
    assert require_url("https://example.com/x") == "https://example.com/x"


@pytest.mark.parametrize(("call", "args", "message"), [
    (parse_int, ("seven", "--first-seed"), "--first-seed: must be an integer, got 'seven'"),
    (parse_int, ("1.5",), "must be an integer, got '1.5'"),
    (parse_number, ("nan", "--timeout"), "--timeout: must be a finite number, got 'nan'"),
    (parse_number, ("fast",), "must be a number, got 'fast'"),
    (require_count, (0, "--seeds"), "--seeds: must be >= 1, got 0"),
    (require_seed, (-1, "seed"), "seed: must be >= 0, got -1"),
    # Python callers: a bool or a string is not a count, even when it would convert.
    (require_count, (True, "seeds"), "seeds: must be an integer >= 1, got True"),
    (require_count, ("10", "seeds"), "seeds: must be an integer >= 1, got '10'"),
    (require_at_least, (2, 3, "chunks"), "chunks: must be >= 3, got 2"),
    (require_positive, (0, "time_scale"), "time_scale: must be > 0, got 0"),
    (require_positive, ("1", "time_scale"), "time_scale: must be a number, got '1'"),
    (require_probability, (1.5,), "must be between 0 and 1, got 1.5"),
    (require_port, (70000,), "must be a TCP port, 0..65535 (0: any free one), got 70000"),
    (parse_range, ("5,1",), "must be MIN,MAX with 0 <= MIN <= MAX, got '5,1'"),
    (parse_range, ("a,b",), "must be MIN,MAX (two numbers), got 'a,b'"),
    (require_url, ("127.0.0.1:80",), "must be a URL such as http://127.0.0.1:8123, got "
                                     "'127.0.0.1:80'"),
])
def test_a_bad_value_is_one_line_naming_input_and_value(call: object, args: tuple[object, ...],
                                                         message: str) -> None:
    assert _message(call, *args) == message


def test_an_input_error_is_a_value_error() -> None:
    # The Python API's callers who catch ValueError for a bad argument still do.
    with pytest.raises(ValueError):
        require_count(0)


def test_output_paths_are_checked_before_any_run(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    assert require_writable_file(str(target)) == str(target)
    assert _message(require_writable_file, str(tmp_path), "--json") == \
        f"--json: {tmp_path}: is a directory"
    missing = tmp_path / "no" / "out.json"
    assert _message(require_writable_file, str(missing)) == \
        f"{missing}: directory {str(missing.parent)!r} does not exist"


def test_an_output_directory_may_be_created_with_its_parents(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    assert require_writable_dir(str(nested)) == str(nested)  # mkdir(parents=True) will do
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert _message(require_writable_dir, str(a_file)) == f"{a_file}: not a directory"
    assert _message(require_writable_dir, str(a_file / "sub")) == \
        f"{a_file / 'sub'}: not a writable directory"


def test_one_of_names_the_choices() -> None:
    assert require_one_of(2, (1, 2)) == 2
    assert _message(require_one_of, 3, (1, 2), "crashes") == "crashes: must be 1 or 2, got 3"
    assert _message(require_one_of, True, (1, 2)) == "must be 1 or 2, got True"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: engine.explore("checkout", "reference", 0, 3),
     "crashes: must be 1 or 2, got 3"),
    (lambda: engine.explore("checkout", "reference", -1),
     "seed: must be >= 0, got -1"),
    (lambda: engine.shrink_seed(
        "checkout", "reference", 0, "x.json", max_attempts=0),
     "max_attempts: must be >= 1, got 0"),
    (lambda: engine.check_design("reference", seed=-2),
     "seed: must be >= 0, got -2"),
])
def test_the_engine_refuses_bad_numbers_before_running(call: object, message: str) -> None:
    # The Python API gets the command line's messages, and nothing runs first.
    assert _message(call) == message
