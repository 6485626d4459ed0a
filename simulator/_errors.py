"""The errors a design sees at its ports: branches of ninelives' error tree, whose root
and documentation are ``ninelives.errors`` (docs/errors.md).

Each keeps the builtin base a design written without ninelives would catch
(``TimeoutError`` for a timeout), and names ``simulator`` as its module, the one a design
imports it from, so a design's traceback reads ``simulator.ToolTimeout``.
"""

from __future__ import annotations

from typing import Any

from ninelives.errors import NineLivesError


class ToolTimeout(NineLivesError, TimeoutError):
    """No response before the caller's timeout: the outcome is UNKNOWN.

    The request may have been lost, or executed with its response lost or late. A design
    must not treat this as failure; retrying safely needs an idempotency key.
    """

    __module__ = "simulator"

    def __init__(self, tool: str, timeout_s: float) -> None:
        super().__init__(f"{tool}: no response within {timeout_s:g} s (outcome unknown)")
        self.tool = tool


class ToolError(NineLivesError):
    """The service answered with an error status (4xx/5xx)."""

    __module__ = "simulator"

    def __init__(self, tool: str, status: int, body: dict[str, Any]) -> None:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        kind = err.get("type", "error") if isinstance(err, dict) else "error"
        super().__init__(f"{tool}: HTTP {status} {kind}")
        self.tool = tool
        self.status = status
        self.body = body

    @property
    def error_type(self) -> str:
        err = self.body.get("error", {})
        return err.get("type", "") if isinstance(err, dict) else ""

    @property
    def error_code(self) -> str:
        err = self.body.get("error", {})
        return err.get("code", "") if isinstance(err, dict) else ""


class ModelTimeout(NineLivesError, TimeoutError):
    """The model did not answer within the caller's timeout."""

    __module__ = "simulator"


class StoreConflict(NineLivesError):
    """A transaction read a key that another transaction changed before it committed."""

    __module__ = "simulator"
