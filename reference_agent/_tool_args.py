"""Argument schemas of every tool an agent may call (pydantic, strict about extras).

The policy gate validates a proposal's arguments against these before anything runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChargeArgs(_Args):
    customer: str
    amount_cents: int = Field(gt=0)
    currency: str = Field(pattern="^[a-z]{3}$")


class ReserveArgs(_Args):
    order_id: str
    sku: str
    quantity: int = Field(gt=0)


class EmailArgs(_Args):
    to: str
    subject: str
    body: str


class MetricsQueryArgs(_Args):
    service: str
    metric: str


class LogsSearchArgs(_Args):
    service: str
    query: str


class ChatPostArgs(_Args):
    channel: str
    text: str


class PageArgs(_Args):
    service: str
    summary: str
    dedup_key: str


class RestartArgs(_Args):
    service: str


TOOL_ARGS: dict[str, type[_Args]] = {
    "payments.charge": ChargeArgs,
    "inventory.reserve": ReserveArgs,
    "email.send": EmailArgs,
    "metrics.query": MetricsQueryArgs,
    "logs.search": LogsSearchArgs,
    "chat.post": ChatPostArgs,
    "pager.page": PageArgs,
    "ops.restart": RestartArgs,
}
