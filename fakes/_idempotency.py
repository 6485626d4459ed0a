"""The Stripe-like idempotency layer (API v1), one implementation shared by every keyed
service (payments, inventory, email, ops).

What it models (see ``docs/facts/stripe-idempotency.md``):

- the first request with a key *starts executing*: its key is marked in flight, and when
  it finishes its response — success or error, a 500 included — is stored against the key;
- a later request with the same key and the same fingerprint (endpoint + canonical args)
  gets the stored response back, status and body identical, without acting;
- the same key with another fingerprint is a 400 ``idempotency_error`` (not stored);
- the same key while the first request is still in flight is a 409
  ``idempotency_key_in_use`` with ``should_retry: True`` (Stripe-Should-Retry), not stored;
- a stored key is pruned ``ttl_ns`` (24 h) after its first use; a request reusing it
  starts anew — and may act twice, which is exactly what a late retry risks in reality.

Requests rejected before executing (validation, 429) never reach ``start`` and so are
never stored: the service decides that, not this layer. Time is passed in; nothing here
reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator import NS_PER_DAY, Response, deep_copy, snapshot

#: Stripe prunes keys once they are at least 24 hours old.
KEY_TTL_NS = NS_PER_DAY
#: Stripe accepts keys of up to 255 characters.
MAX_KEY_LENGTH = 255


def fingerprint(endpoint: str, args: dict[str, Any]) -> bytes | str:
    """What "the same parameters" means: sorted-key JSON of the endpoint and its args
    (compared for equality only)."""
    return snapshot({"endpoint": endpoint, "args": args})


def _copy_response(response: Response) -> Response:
    # copy.deepcopy(response), without its generic reconstruction of a slots dataclass:
    # a Response is its status (an int) and its body.
    if type(response) is Response:
        return Response(response.status, deep_copy(response.body))
    return deep_copy(response)


@dataclass(slots=True)
class _Entry:
    fingerprint: bytes | str
    first_used_ns: int
    request_id: int
    #: ``None`` while the first request is still executing
    response: Response | None = None


class IdempotencyLayer:
    """Keys → (fingerprint, first use, stored response). Counters go to ``stats``.

    Usage by a service, for a keyed request that passed the rate limiter:
    ``check`` (a replay, 409 or 400 to answer at once, or ``None`` to go on), then the
    service validates; if valid, ``start`` before executing and ``store`` after.
    """

    __slots__ = ("_entries", "stats", "ttl_ns")

    def __init__(self, stats: dict[str, int], ttl_ns: int = KEY_TTL_NS) -> None:
        self.ttl_ns = ttl_ns
        self.stats = stats
        for counter in ("replayed", "conflict_409", "idempotency_error", "expired_key_reused"):
            stats.setdefault(counter, 0)
        self._entries: dict[str, _Entry] = {}

    def check(self, key: str, fp: str, now_ns: int) -> Response | None:
        """The answer the key alone dictates, or ``None`` if the request may proceed."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.response is None:
            # Still executing. In-flight keys never expire: processing takes milliseconds.
            self.stats["conflict_409"] += 1
            return Response(
                409,
                {
                    "error": {
                        "type": "idempotency_error",
                        "code": "idempotency_key_in_use",
                        "message": (
                            "There is currently another in-progress request using this "
                            "idempotency key. Try again later."
                        ),
                    },
                    "should_retry": True,
                },
            )
        if now_ns >= entry.first_used_ns + self.ttl_ns:
            # Pruned: the request runs anew, as if the key had never been seen.
            del self._entries[key]
            self.stats["expired_key_reused"] += 1
            return None
        if entry.fingerprint != fp:
            self.stats["idempotency_error"] += 1
            return Response(
                400,
                {
                    "error": {
                        "type": "idempotency_error",
                        "message": (
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with."
                        ),
                    }
                },
            )
        self.stats["replayed"] += 1
        return _copy_response(entry.response)

    def start(self, key: str, fp: str, now_ns: int, request_id: int) -> None:
        """Mark ``key`` in flight: the request passed validation and starts executing."""
        if key in self._entries:
            raise RuntimeError(f"idempotency key {key!r} started twice; call check() first")
        self._entries[key] = _Entry(fp, now_ns, request_id)

    def store(self, key: str, response: Response) -> None:
        """Store the executed request's response (whatever its status) against ``key``."""
        entry = self._entries[key]
        if entry.response is not None:
            raise RuntimeError(f"idempotency key {key!r} already has a stored response")
        entry.response = _copy_response(response)

    def in_flight(self, key: str) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.response is None

    def stored(self, key: str) -> Response | None:
        """The stored response for ``key`` (a copy), ignoring expiry; for tests and tools."""
        entry = self._entries.get(key)
        if entry is None or entry.response is None:
            return None
        return _copy_response(entry.response)

    def __len__(self) -> int:
        return len(self._entries)
