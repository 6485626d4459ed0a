"""Flawed designs: each one of the classic anti-patterns, kept apart from the reference.

Each is the reference worker with one part swapped (or, for ``naive-loop``, the loop
every tutorial starts with), so the harness must catch each for its own flaw.

The traps (``module-state``, ``hash-keys``, ``import-clock``, ``mark-done-first``,
``thread``, ``unfenced-2w``) are written from the README's protocol alone, as a user
would (``_protocol.py``): flaws that an in-process simulation could mistake for durable
designs (issue 16).

``reference-settle-reckoned`` is apart from them: its bug is rare (about 1 seed in 4,000
of uniform swarm sampling), kept to measure how fast a sweep finds a rare bug.
"""

from ._fresh_uuid import FRESH_UUID_KEYS as FRESH_UUID_KEYS
from ._fused import FUSED as FUSED
from ._hash_keys import HASH_KEYS as HASH_KEYS
from ._import_clock import IMPORT_CLOCK as IMPORT_CLOCK
from ._mark_done_first import MARK_DONE_FIRST as MARK_DONE_FIRST
from ._module_state import MODULE_STATE as MODULE_STATE
from ._naive_loop import NAIVE_LOOP as NAIVE_LOOP
from ._settle_reckoned import SETTLE_RECKONED as SETTLE_RECKONED
from ._thread import THREAD as THREAD
from ._timeout_as_failure import TIMEOUT_AS_FAILURE as TIMEOUT_AS_FAILURE
from ._unfenced import UNFENCED as UNFENCED
from ._unrecorded_model import UNRECORDED_MODEL as UNRECORDED_MODEL
