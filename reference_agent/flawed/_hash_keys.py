"""``hash-keys``: idempotency keys from ``hash()`` of the step's identity.

``hash()`` of a string is salted per process (``PYTHONHASHSEED``): the key is stable in
one process and changes in a restarted one, so a retry after a crash charges again.
"""

from __future__ import annotations

from ._protocol import ProtocolWorker


class HashKeysWorker(ProtocolWorker):
    def key(self, wid: str, step: int) -> str:
        return f"k{hash((wid, step)) & 0xFFFF_FFFF_FFFF:012x}"  # the flaw


HASH_KEYS = HashKeysWorker.design(
    "hash-keys", "idempotency keys from hash() of the step: another process, another key")
