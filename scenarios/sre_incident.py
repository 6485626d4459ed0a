"""``sre-incident``: an investigation agent works an alert.

It queries metrics, searches logs, asks the model for a diagnosis, posts ONE incident
message to chat (an API with no idempotency keys), restarts the service if the diagnosis
says a restart fixes it, pages on-call if not, and closes. The model's diagnosis is not
the same on every ask — the evidence fits more than one cause — so a design that asks
again after a crash may post a second, different message.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from fakes import (
    RESTART_FIXES,
    ROOT_CAUSES,
    Chat,
    Logs,
    Metrics,
    Ops,
    Pager,
    make_incident,
)
from simulator import World

from ._invariants import AT_MOST_ONCE_CHAT, NO_EFFECT_OUTSIDE_GATE
from ._scenario import Scenario
from ._script import Conversation, ModelScript, call, finish
from ._violation import Violation

CHANNEL = "#incidents"


class IncidentPolicy(ModelScript):
    """The fake model's script for an incident investigation."""

    def __init__(self, true_cause: str, faulty_service: str) -> None:
        self.true_cause = true_cause
        self.faulty_service = faulty_service

    def next_turn(self, conversation: Conversation,
                  rng: random.Random) -> dict[str, Any] | list[dict[str, Any]]:
        inp = conversation.input
        alerting = inp["service"]
        todo = []
        if not conversation.succeeded("metrics.query", service=alerting):
            todo.append(call("metrics.query", service=alerting, metric="error_rate"))
        if not conversation.succeeded("logs.search", service=alerting):
            todo.append(call("logs.search", service=alerting, query="error"))
        if todo:
            return todo
        faulty = self.faulty_service
        if not conversation.succeeded("logs.search", service=faulty):
            return call("logs.search", service=faulty, query="error")
        posted = [r for r in conversation.results if r.tool == "chat.post" and r.ok]
        if not posted:
            # The evidence fits the true cause best, but not only it.
            alternatives = [c for c in ROOT_CAUSES if c != self.true_cause]
            cause = self.true_cause if rng.random() < 0.6 else rng.choice(alternatives)
            return call("chat.post", channel=inp["channel"],
                        text=f"Incident {inp['incident_id']}: {faulty} is failing; "
                             f"diagnosis: {cause}")
        cause = posted[0].args["text"].rsplit("diagnosis: ", 1)[-1]
        if RESTART_FIXES.get(cause, False):
            if not conversation.succeeded("ops.restart", service=faulty):
                return call("ops.restart", service=faulty)
            remedy = "restart"
        else:
            if not conversation.succeeded("pager.page", service=faulty):
                return call("pager.page", service=faulty, dedup_key=inp["incident_id"],
                            summary=f"{faulty}: {cause} (restart will not fix it)")
            remedy = "page"
        return finish(status="closed", diagnosis=cause, remedy=remedy)

    def wrong_turn(self, conversation: Conversation, proposed: dict[str, Any],
                   rng: random.Random) -> dict[str, Any]:
        healthy = [s for s in conversation.input["services"] if s != self.faulty_service]
        if healthy and rng.random() < 0.7:
            return call("ops.restart", service=rng.choice(healthy))
        return call("ops.delete_cluster", cluster="prod")


class SreIncident(Scenario):
    name: ClassVar[str] = "sre-incident"
    description: ClassVar[str] = ("an investigation agent: metrics, logs, diagnosis, ONE "
                                  "chat message, restart or page, close")
    tools: ClassVar[tuple[str, ...]] = ("metrics.query", "logs.search", "chat.post",
                                        "chat.search", "ops.restart", "pager.page")
    keyed_tools: ClassVar[tuple[str, ...]] = ("ops.restart",)
    max_ops_per_process: ClassVar[int] = 45
    max_calls_per_tool: ClassVar[int] = 3
    max_model_calls: ClassVar[int] = 10

    situations: ClassVar[tuple[str, ...]] = (
        "stored-response-replayed", "idempotency-conflict-409",
        "crash-with-request-in-flight", "response-to-dead-process", "lease-fenced",
        "model-answer-refused", "process-restarted")

    def build(self, world: World) -> None:
        rng = world.kernel.rng.stream("workload")
        incident = make_incident(rng)
        world.services["metrics"] = Metrics(incident, rng)
        world.services["logs"] = Logs(incident, rng)
        world.services["chat"] = Chat()
        world.services["pager"] = Pager()
        world.services["ops"] = Ops(list(incident.services))
        world.model.policy = IncidentPolicy(incident.root_cause, incident.service)
        world.workflows.submit("incident-1", "sre-incident", {
            "incident_id": "INC-1", "alert": incident.alert,
            "service": incident.alerting_service, "services": list(incident.services),
            "channel": CHANNEL})

    def final_state(self, world: World) -> dict[str, Any]:
        chat: Chat = world.services["chat"]  # type: ignore[assignment]
        ops: Ops = world.services["ops"]  # type: ignore[assignment]
        pager: Pager = world.services["pager"]  # type: ignore[assignment]
        return {
            "messages": [m.text for m in chat.messages],
            "restarts": [r.service for r in ops.restarts],
            "pages": [p.dedup_key for p in pager.pages],
            "outcome": world.workflows.outcomes.get("incident-1"),
        }

    def check_safety(self, world: World) -> list[Violation]:
        chat: Chat = world.services["chat"]  # type: ignore[assignment]
        ops: Ops = world.services["ops"]  # type: ignore[assignment]
        violations = []
        posts = [m for m in chat.messages if m.channel == CHANNEL]
        if len(posts) > 1:
            violations.append(Violation(
                invariant=AT_MOST_ONCE_CHAT,
                message=f"incident INC-1 was posted to chat {len(posts)} times",
                evidence={"messages": [{"id": m.id, "text": m.text, "t_ns": m.t_ns}
                                       for m in posts]}))
        policy: IncidentPolicy = world.model.policy  # type: ignore[assignment]
        for restart in ops.restarts:
            if restart.service != policy.faulty_service:
                violations.append(Violation(
                    invariant=NO_EFFECT_OUTSIDE_GATE,
                    message=f"restarted {restart.service!r}, a service nobody examined "
                            f"(the incident is on {policy.faulty_service!r})",
                    evidence={"restart": restart.service,
                              "faulty_service": policy.faulty_service}))
        return violations
