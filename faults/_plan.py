"""A fault plan: the list of faults one run suffers, as a JSON document.

Plans come from a seed (``swarm_plan``), from a file (reproduction: ``ninelives replay
--plan``), or from a Hypothesis strategy; all three meet here. A plan file is what
``model_dump_json`` writes: ``{"faults": [{"kind": "crash", ...}, ...], "note": ...}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ninelives.errors import InputError

from ._types import Fault


class PlanError(InputError):
    """A plan file could not be read or is not a valid plan. The message is one line,
    plain, and names the file: the CLI prints it as is and exits with status 2."""

    __module__ = "faults"


class FaultPlan(BaseModel):
    """An ordered list of faults for one run (order matters only for ties: see
    ``PlanHooks``). Indexes into ``faults`` are how hooks report what fired."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    faults: list[Fault] = []
    #: free text for humans: where the plan came from (a seed, a shrink, a bug report)
    note: str | None = None

    def __len__(self) -> int:
        return len(self.faults)

    def without(self, *indexes: int) -> FaultPlan:
        """This plan minus the faults at ``indexes`` (the note is kept)."""
        drop = set(indexes)
        return FaultPlan(faults=[f for i, f in enumerate(self.faults) if i not in drop],
                         note=self.note)

    def describe(self) -> list[str]:
        """One line per fault, for humans."""
        return [f.describe() for f in self.faults]

    @classmethod
    def from_file(cls, path: str | Path) -> FaultPlan:
        """Read a plan written by ``to_file`` (or by hand); raise ``PlanError`` with a
        one-line message when the file is unreadable, not JSON, or not a plan."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise PlanError(_one_line(f"{path}: cannot read plan file: {reason}")) from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise PlanError(_one_line(f"{path}: not a fault plan: {_first_error(exc)}")) \
                from None

    def check_targets(self, processes: Sequence[str], tools: Sequence[str],
                      source: str | Path) -> None:
        """Raise ``PlanError`` (one line, naming ``source``) if a fault names a process or
        a tool (``service.endpoint``) the run does not have: such a fault can never
        fire, and a typo in a hand-written plan would pass for a plan the design
        survived."""
        for index, fault in enumerate(self.faults):
            process = getattr(fault, "process", None)
            if process is not None and process not in processes:
                raise PlanError(f"{source}: fault #{index} ({fault.kind}) targets process "
                                f"{process!r}, which this run does not have "
                                f"(its processes: {', '.join(processes)})")
            tool = getattr(fault, "tool", None)
            if tool is not None and tool not in tools:
                raise PlanError(f"{source}: fault #{index} ({fault.kind}) targets tool "
                                f"{tool!r}, which this scenario does not have "
                                f"(its tools: {', '.join(tools)})")

    def to_file(self, path: str | Path) -> None:
        """Write this plan as indented JSON (``from_file`` reads it back)."""
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return str(exc)
    first = errors[0]
    ctx = first.get("ctx", {})
    where = ".".join(str(part) for part in first["loc"]) or "top level"
    if first["type"] == "json_invalid":
        message = f"invalid JSON ({ctx.get('error', first['msg'])})"
    elif first["type"] == "union_tag_invalid":
        message = (f"{where}: unknown fault kind {ctx.get('tag')!r} "
                   f"(known: {ctx.get('expected_tags', '').replace(chr(39), '')})")
    elif first["type"] == "union_tag_not_found":
        message = f"{where}: a fault needs a 'kind' field"
    else:
        message = f"{where}: {first['msg']}"
    more = len(errors) - 1
    if more:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return message


def _one_line(text: str) -> str:
    return " ".join(text.split())
