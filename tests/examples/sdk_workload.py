"""Run a few seeds of an SDK example, each with its swarm plan, and print their trace
hashes as JSON (``test_sdk_agent.py`` runs this under two ``PYTHONHASHSEED`` values).

Usage: ``python tests/examples/sdk_workload.py <design spec> <isolation> <seed> [<seed>...]``
"""

from __future__ import annotations

import json
import sys


def hashes(spec: str, isolation: str, seeds: list[int]) -> dict[str, str]:
    from reference_agent import load_design
    from scenarios import get_scenario, run_seed

    scenario, design = get_scenario("checkout"), load_design(spec)
    out = {}
    for seed in seeds:
        result = run_seed(scenario, design, seed, keep_world=True, isolation=isolation)
        assert result.world is not None
        out[str(seed)] = result.world.kernel.trace.hash()
        result.world.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(hashes(sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]])))
