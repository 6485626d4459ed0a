"""Invariant families over a service's ledger, parameterised for a user's scenario.

The built-in scenarios check their ledgers with hand-written loops (``checkout``'s
``exactly_once_charges``); these are the same checks for any service whose
``effects()`` is its ledger (every built-in fake and every ``fakes.FakeService``):
which route, grouped by which business field. A scenario's ``check_safety`` returns
their violations; the harness adds the seed, plan and repro line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulator import Effect, World

from ._violation import Violation


def _field(effect: Effect, per: str) -> Any:
    """``per`` of an effect: a ``FakeService`` keeps the arguments under ``args``, the
    built-in fakes keep their fields at the top."""
    args = effect.data.get("args")
    if isinstance(args, dict) and per in args:
        return args[per]
    return effect.data.get(per)


def _entry(effect: Effect) -> dict[str, Any]:
    return {"t_ns": effect.t_ns, **effect.data}


def _grouped(world: World, service: str, route: str, per: str) -> dict[str, list[Effect]]:
    found: dict[str, list[Effect]] = {}
    for effect in world.services[service].effects():
        if effect.kind == route:
            found.setdefault(str(_field(effect, per)), []).append(effect)
    return found


def at_most_once(world: World, service: str, route: str, *, per: str,
                 invariant: str | None = None) -> list[Violation]:
    """Each value of ``per`` (an order id, a customer) got ``service.route``'s effect at
    most once: a retry after a lost response, a duplicate delivery or a crash-restart
    that acted again is a violation, with every ledger entry as evidence. The invariant
    is named ``at-most-once-<service>.<route>`` unless ``invariant`` says otherwise."""
    name = invariant or f"at-most-once-{service}.{route}"
    return [Violation(invariant=name,
                      message=f"{service}.{route} acted {len(effects)} times for "
                              f"{per}={value} (at most once intended)",
                      evidence={"ledger": [_entry(e) for e in effects]})
            for value, effects in _grouped(world, service, route, per).items()
            if len(effects) > 1]


def exactly_once(world: World, service: str, route: str, *, per: str,
                 expected: Iterable[Any], invariant: str | None = None) -> list[Violation]:
    """Each value in ``expected`` got ``service.route``'s effect exactly once, and no
    other value got it at all (call it over the workflows that completed: one still
    running may not have acted yet; liveness catches the ones that never finish)."""
    name = invariant or f"exactly-once-{service}.{route}"
    want = {str(v) for v in expected}
    grouped = _grouped(world, service, route, per)
    violations = []
    for value in sorted(want | set(grouped)):
        effects = grouped.get(value, [])
        limit = 1 if value in want else 0
        if len(effects) != limit:
            violations.append(Violation(
                invariant=name,
                message=f"{service}.{route} acted {len(effects)} times for {per}={value} "
                        f"({limit} intended)",
                evidence={"ledger": [_entry(e) for e in effects]}))
    return violations
