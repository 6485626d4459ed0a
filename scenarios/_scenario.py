"""What a scenario is: a workload and the invariants it must keep (FoundationDB's
setup / run / check), registered by name."""

from __future__ import annotations

from typing import Any, ClassVar

from simulator import World

from ._violation import Violation


class Scenario:
    """Base class. A subclass builds its world, and checks it after the run."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: virtual seconds during which faults act
    fault_window_s: ClassVar[float] = 600.0
    #: virtual seconds after faults stop within which every workflow must finish
    liveness_bound_s: ClassVar[float] = 6 * 3600.0
    #: tools the scenario's agents use (what faults can target)
    tools: ClassVar[tuple[str, ...]] = ()
    #: tools whose requests carry idempotency keys in a correct design
    keyed_tools: ClassVar[tuple[str, ...]] = ()
    #: rough upper bounds for fault addressing (swarm draws points below these)
    max_ops_per_process: ClassVar[int] = 60
    max_calls_per_tool: ClassVar[int] = 6
    max_model_calls: ClassVar[int] = 20
    #: the situations (``scenarios.SITUATIONS``) that can arise here; empty means all
    situations: ClassVar[tuple[str, ...]] = ()
    #: the invariants ``check_safety`` reports, by name (what ``ninelives list
    #: --scenario`` shows; the shared ones, ``scenarios.INVARIANTS``, always apply)
    invariants: ClassVar[tuple[str, ...]] = ()

    def build(self, world: World) -> None:
        """Add services, set the model policy, submit the workflows."""
        raise NotImplementedError

    def final_state(self, world: World) -> dict[str, Any]:
        """The business outcome, from ground truth, for resume equivalence."""
        raise NotImplementedError

    def check_safety(self, world: World) -> list[Violation]:
        """Scenario-specific safety invariants (ledgers, messages, the gate)."""
        return []

    def http_doors(self, world: World) -> list[Any]:
        """The HTTP doors real agent code reaches the built world's fakes by
        (``fakes.wire``): by default every service's own API (Stripe for a payment
        provider, Slack for a chat, ``https://<name>.internal`` for the others) and the
        OpenAI and Anthropic APIs over the world's model. Override to change hosts."""
        from fakes.wire import default_doors

        return default_doors(world)
