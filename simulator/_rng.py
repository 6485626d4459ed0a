"""Named random substreams derived from one root seed.

Each stream is an independent ``random.Random`` seeded from ``sha256(seed, name)``, so
adding a draw in one stream never shifts another (the Temporal ``workflow.random()``
pitfall in ``docs/facts/pitfalls.md``), and the same seed gives the same numbers in
any process under any ``PYTHONHASHSEED`` (``tests/simulator/test_determinism.py``).
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, name: str) -> int:
    """A 128-bit integer derived from ``seed`` and ``name``; stable across processes."""
    digest = hashlib.sha256(f"{seed}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


class Rng:
    """The root of a run's randomness; hands out named substreams."""

    __slots__ = ("_streams", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        """The substream called ``name``: the same object on every call."""
        stream = self._streams.get(name)
        if stream is None:
            stream = random.Random(derive_seed(self.seed, name))
            self._streams[name] = stream
        return stream

    def fork(self, name: str) -> Rng:
        """A child root whose streams are independent of this one's."""
        return Rng(derive_seed(self.seed, "fork:" + name))
