"""Fencing with two workers (``reference-2w``): a worker frozen past its 30 s lease while
it holds a workflow - about to send the order's charge - is a zombie when it wakes. The
other worker has taken the workflow over (the fencing token went up) and finished it; the
zombie's charge is answered from the provider's stored response (same key, derived from
the log), and the zombie cannot record anything: no ``steps`` row ever gets a second,
different value, and every order is charged once."""

from __future__ import annotations

from op_recorder import OpRecorder

from fakes import PaymentProvider
from faults import FaultPlan, ModelFault, Pause
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed
from simulator import World

SEED = 0
LEASE_S = 30.0


def worker1_charge_op(seed: int) -> tuple[int, str]:
    """worker-1's port operation that sends its first charge, and that charge's key."""
    scenario, design = SCENARIOS["checkout"], DESIGNS["reference-2w"]
    hooks = OpRecorder(FaultPlan(faults=[]))
    world = World(seed, hooks=hooks)
    scenario.build(world)
    for name in design.worker_names():
        world.add_process(name, design.main)
    world.run(scenario.fault_window_s, scenario.liveness_bound_s)
    world.dispose()
    return next((op, d["key"]) for name, op, kind, d in hooks.ops
                if name == "worker-1" and kind == "tool.call"
                and d["tool"] == "payments.charge")


def test_a_zombie_worker_cannot_charge_twice_or_rewrite_a_step() -> None:
    op, key = worker1_charge_op(SEED)
    workflow = key.split("/")[0]
    pause = Pause(process="worker-1", at_op=op, duration_ms=int(2 * LEASE_S * 1000))
    result = run_seed(SCENARIOS["checkout"], DESIGNS["reference-2w"], SEED,
                      FaultPlan(faults=[pause]), keep_world=True)
    world = result.world
    assert world is not None
    assert result.fired == [0]
    trace = world.kernel.trace.raw()
    paused = next(t for t, c, k, _ in trace if c == "worker-1" and k == "pause")
    resumed = next(t for t, c, k, _ in trace if c == "worker-1" and k == "resume")
    assert resumed - paused >= 2 * LEASE_S * 1e9

    # Not vacuous: worker-2 took the workflow over while worker-1 was frozen...
    assert world.store.dump()["workflows"][workflow]["fence"] >= 2
    takeover = [t for t, c, k, d in trace if c == "worker-2" and k == "store.commit"
                and f"workflows/{workflow}" in d["keys"] and paused < t < resumed]
    assert takeover
    # ...sent the charge itself, with the key the log gives (attempt 1 of that step)...
    sent = [(t, c) for t, c, k, d in trace
            if k == "tool.request" and d["tool"] == "payments.charge" and d["key"] == key]
    assert [c for _, c in sent] == ["worker-2", "worker-1"]
    # ...and the zombie, waking, sent its stale request - which the provider replayed.
    assert sent[1][0] >= resumed
    provider = world.services["payments"]
    assert isinstance(provider, PaymentProvider)
    assert provider.stats["replayed"] >= 1

    # The zombie recorded nothing for that workflow after waking.
    assert not [d for t, c, k, d in trace if c == "worker-1" and k == "store.commit"
                and t >= resumed and any(workflow in key for key in d["keys"])]
    assert world.store.overwrites("steps") == []
    # Every order charged exactly once, and the run keeps every invariant.
    orders = [w["input"] for w in world.workflows.submitted()]
    for order in orders:
        charges = [c for c in provider.ledger if c.customer == order["customer"]]
        assert len(charges) == (0 if world.workflows.outcomes[
            f"checkout-{order['order_id'].split('-')[1]}"]["status"] == "declined" else 1)
    assert result.violations == []


def test_only_the_lease_holder_asks_the_model() -> None:
    # worker-1 waits 60 s for a slow model answer (call 3) on a 30 s lease; worker-2
    # takes the workflow over and is itself stuck in a slow call (5) when worker-1's call
    # times out. worker-1 must not then ask the model the decision worker-2 is making:
    # every model request comes from the process that last committed to the workflow's
    # row (the renewal before asking is that commit).
    plan = FaultPlan(faults=[ModelFault(call=3, fault="slow"), ModelFault(call=5, fault="slow")])
    result = run_seed(SCENARIOS["sre-incident"], DESIGNS["reference-2w"], 17, plan,
                      keep_world=True)
    world = result.world
    assert world is not None
    assert result.fired == [0, 1]
    assert result.violations == []
    trace = world.kernel.trace.raw()
    # Not vacuous: the first slow call outlived its lease and the workflow changed hands.
    asked, asker = next((t, c) for t, c, k, d in trace
                        if k == "model.request" and d["call"] == 3)
    timed_out = next(t for t, c, k, d in trace if k == "model.timeout" and d["call"] == 3)
    assert timed_out - asked >= 2 * LEASE_S * 1e9
    assert world.store.dump()["workflows"]["incident-1"]["fence"] >= 2
    holders = [c for t, c, k, d in trace if k == "store.commit"
               and "workflows/incident-1" in d["keys"] and asked < t < timed_out]
    assert holders and asker not in holders

    last_committer: dict[str, str] = {}
    for _, component, kind, data in trace:
        if kind == "store.commit":
            for key in data["keys"]:
                table, _, row = key.partition("/")
                if table == "workflows":
                    last_committer[row] = component
        elif kind == "model.request":
            workflow = data["decision"].split("/")[0]
            assert last_committer.get(workflow) == component, data
