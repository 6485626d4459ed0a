"""A full card number is a secret: after a checkout run - faults included - no
customer's card number appears in the trace's canonical JSON, the final state, the
durable store, the service snapshots or the violations; the last four digits may (the
provider returns them, and the design records its responses)."""

from __future__ import annotations

import pytest

from fakes import PaymentProvider
from faults import FaultPlan, LoseResponse
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed
from simulator import canonical_json


@pytest.mark.parametrize(("seed", "plan"), [
    (0, None),  # the seed's swarm plan
    (3, None),
    (1, FaultPlan(faults=[LoseResponse(tool="payments.charge", call=1)])),
])
def test_no_full_card_number_leaves_the_provider(seed: int, plan: FaultPlan | None) -> None:
    result = run_seed(SCENARIOS["checkout"], DESIGNS["reference"], seed, plan,
                      keep_world=True)
    world = result.world
    assert world is not None
    provider = world.services["payments"]
    assert isinstance(provider, PaymentProvider)
    cards = {c.id: c.card_number for c in provider.customers.values()}
    assert all(len(number) >= 12 for number in cards.values())

    trace = "\n".join(world.kernel.trace.canonical_lines())
    final = canonical_json(result.final_state)
    store = canonical_json(world.store.dump())
    snapshots = canonical_json({name: s.snapshot() for name, s in world.services.items()})
    violations = canonical_json([v.model_dump(mode="json") for v in result.violations])
    customers = canonical_json([c.model_dump(mode="json") for c in provider.customers.values()])
    reprs = repr(list(provider.customers.values()))
    for text in (trace, final, store, snapshots, violations, customers, reprs):
        for number in cards.values():
            assert number not in text

    # Not vacuous: card data did flow through the run - the charge responses carried the
    # last four digits, and the design recorded them.
    charged = {c.customer for c in provider.ledger}
    assert charged
    for customer in charged:
        last4 = provider.customers[customer].card_last4
        assert f'"card_last4":"{last4}"' in store
