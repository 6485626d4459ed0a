"""``run_seed`` collects garbage less often during a run, and puts the collector's
threshold back afterwards (or leaves it alone if the caller turned collection off)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed
from scenarios._harness import GC_YOUNG_THRESHOLD
from simulator import Design, Env

SEEN: list[int] = []


async def _recording_main(env: Env) -> None:
    SEEN.append(gc.get_threshold()[0])
    await DESIGNS["reference"].main(env)


RECORDING = Design(name="recording", main=_recording_main, workers=1)


@pytest.fixture
def threshold() -> Iterator[None]:
    before = gc.get_threshold()
    SEEN.clear()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("threshold")
def test_fewer_collections_during_the_run_and_the_threshold_restored() -> None:
    gc.set_threshold(700, 10, 10)
    result = run_seed(SCENARIOS["checkout"], RECORDING, 3)
    # The recording itself is module state, and the run says so; nothing else broke.
    assert [(v.invariant, v.evidence["changed"][0]["name"]) for v in result.violations] \
        == [("process-local-state", "SEEN")]
    assert SEEN and all(t == GC_YOUNG_THRESHOLD for t in SEEN)
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("threshold")
def test_collection_turned_off_stays_off() -> None:
    gc.set_threshold(0, 10, 10)
    run_seed(SCENARIOS["checkout"], RECORDING, 3)
    assert SEEN and all(t == 0 for t in SEEN)
    assert gc.get_threshold() == (0, 10, 10)
