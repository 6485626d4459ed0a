"""The errors a design sees at its ports: branches of ninelives' error tree, whose root
and documentation are ``ninelives.errors``."""

from __future__ import annotations

from typing import Any


class ToolTimeout(TimeoutError):
    """No response before the caller's timeout: the outcome is UNKNOWN.

    The request may have been lost, or executed with its response lost or late. A design
    must not treat this as failure; retrying safely needs an idempotency key.
    """

    def __init__(self, tool: str, timeout_s: float) -> None:
        super().__init__(f"{tool}: no response within {timeout_s:g} s (outcome unknown)")
        self.tool = tool


class ToolError(Exception):
    """The service answered with an error status (4xx/5xx)."""

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


class ModelTimeout(TimeoutError):
    """The model did not answer within the caller's timeout."""


class StoreConflict(Exception):
    """A transaction read a key that another transaction changed before it committed."""
