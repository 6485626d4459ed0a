"""Flawed designs: each one of the classic anti-patterns, kept apart from the reference.

Each is the reference worker with one part swapped (or, for ``naive-loop``, the loop
every tutorial starts with), so the harness must catch each for its own flaw.
``reference-settle-reckoned`` is apart from them: its bug is rare (about 1 seed in 4,000
of uniform swarm sampling), kept to measure how fast a sweep finds a rare bug.
"""

from ._fresh_uuid import FRESH_UUID_KEYS as FRESH_UUID_KEYS
from ._fused import FUSED as FUSED
from ._naive_loop import NAIVE_LOOP as NAIVE_LOOP
from ._settle_reckoned import SETTLE_RECKONED as SETTLE_RECKONED
from ._timeout_as_failure import TIMEOUT_AS_FAILURE as TIMEOUT_AS_FAILURE
from ._unrecorded_model import UNRECORDED_MODEL as UNRECORDED_MODEL
