"""Fault plans as data: JSON round-trip, plan files, the kinds registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from faults import (
    ClockJump,
    Crash,
    Delay,
    Duplicate,
    FaultPlan,
    LoseRequest,
    LoseResponse,
    ModelFault,
    Pause,
    PlanError,
    ServiceError,
    kind_names,
    kinds,
)

EVERY_KIND = FaultPlan(
    faults=[
        Crash(process="worker", at_op=7, restart_after_ms=250),
        Pause(process="worker", at_op=3, duration_ms=90_000),
        LoseRequest(tool="payments.charge", call=1),
        LoseResponse(tool="payments.charge", call=2),
        Delay(tool="payments.charge", call=3, delay_ms=15_000, leg="request"),
        Duplicate(tool="payments.charge", call=4),
        ServiceError(tool="payments.refund", call=1, status=429),
        ModelFault(call=2, fault="hallucinated"),
        ClockJump(process="orchestrator", at_op=5, jump_ms=-30_000),
    ],
    note="every kind",
)


def test_every_kind_round_trips_through_json() -> None:
    text = EVERY_KIND.model_dump_json()
    again = FaultPlan.model_validate_json(text)
    assert again == EVERY_KIND
    assert [type(f) for f in again.faults] == [type(f) for f in EVERY_KIND.faults]
    assert {d["kind"] for d in json.loads(text)["faults"]} == set(kind_names())
    assert len(again) == 9


def test_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    EVERY_KIND.to_file(path)
    assert FaultPlan.from_file(path) == EVERY_KIND
    assert FaultPlan.from_file(str(path)) == EVERY_KIND


def test_defaults_are_documented_values() -> None:
    assert Crash(process="w", at_op=1).restart_after_ms == 1000
    assert Pause(process="w", at_op=1).duration_ms >= 60_000  # outlasts a lease
    assert FaultPlan.model_validate_json('{"faults": []}') == FaultPlan()
    assert len(FaultPlan()) == 0


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ("{not json", "invalid JSON"),
        ("", "invalid JSON"),
        ('{"faults": [{"kind": "explode", "process": "w"}]}', "explode"),
        ('{"faults": [{"kind": "crash", "process": "w"}]}', "faults.0.crash.at_op"),
        ('{"faults": [{"kind": "crash", "process": "w", "at_op": 0}]}', "faults.0.crash.at_op"),
        ('{"faults": [{"kind": "crash", "process": "w", "at_op": 1, "restart_ms": 5}]}',
         "restart_ms"),
        ('{"faults": [{"kind": "service_error", "tool": "a.b", "call": 1, "status": 404}]}',
         "status"),
        ('{"fault": []}', "fault"),
        ("[1, 2]", "top level"),
    ],
)
def test_malformed_plan_file_is_a_one_line_plan_error(
        tmp_path: Path, content: str, expect: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PlanError) as info:
        FaultPlan.from_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expect in message
    assert isinstance(info.value, ValueError)
    assert "Traceback" not in message


def test_unknown_kind_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"faults": [{"kind": "meteor", "at_op": 1}]}')
    with pytest.raises(PlanError, match="meteor") as info:
        FaultPlan.from_file(path)
    assert "crash" in str(info.value)


def test_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read plan file") as info:
        FaultPlan.from_file(tmp_path / "nope.json")
    assert "\n" not in str(info.value)


def test_directory_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read"):
        FaultPlan.from_file(tmp_path)


def test_faults_are_frozen_and_validated() -> None:
    crash = Crash(process="w", at_op=3)
    with pytest.raises(ValidationError):
        crash.at_op = 4  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Delay(tool="a.b", call=1, delay_ms=0)
    with pytest.raises(ValidationError):
        LoseRequest(tool="a.b", call=0)
    assert hash(crash) == hash(Crash(process="w", at_op=3))


def test_without_and_describe() -> None:
    smaller = EVERY_KIND.without(0, 8)
    assert len(smaller) == 7
    assert smaller.faults[0] == EVERY_KIND.faults[1]
    lines = EVERY_KIND.describe()
    assert len(lines) == 9
    assert lines[0] == "crash worker at op 7 (restart after 250 ms)"
    assert all("\n" not in line for line in lines)


def test_kinds_registry_lists_each_kind_once_with_a_one_line_summary() -> None:
    registry = kinds()
    assert [k.kind for k in registry] == kind_names()
    assert len(set(kind_names())) == 9
    for entry in registry:
        assert entry.summary and "\n" not in entry.summary
        assert entry.model.model_fields["kind"].default == entry.kind
