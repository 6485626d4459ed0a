"""No CA bundle is read for a connection that is never made.

Every ``httpx.AsyncClient`` (so every ``AsyncOpenAI``, ``AsyncAnthropic`` and stripe
``HTTPXClient``) builds an ``ssl.SSLContext`` and loads certifi's CA bundle into it:
about 16 ms each here, a third of a fully checked run of an SDK agent that builds its
clients in each incarnation, as most do (measured with cProfile over ten seeds of
``examples.sdk_agent.naive``: 0.90 s of 2.91 s in ``load_verify_locations``). In a
simulated run no intercepted transport opens a connection, and a real one is a finding
before any TLS happens, so on the run's thread ``SSLContext.load_verify_locations`` does
nothing; other threads, and code outside a run, load as usual.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_real_load = ssl.SSLContext.load_verify_locations
_state = threading.local()
_lock = threading.Lock()
_users = 0


def _load(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
    if getattr(_state, "depth", 0):
        return None
    return _real_load(self, *args, **kwargs)


@contextmanager
def no_ca_loading() -> Iterator[None]:
    """While inside, this thread's ``SSLContext`` objects load no CA certificates."""
    global _users
    with _lock:
        _users += 1
        ssl.SSLContext.load_verify_locations = _load  # type: ignore[method-assign]
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
        with _lock:
            _users -= 1
            if _users == 0:
                ssl.SSLContext.load_verify_locations = _real_load  # type: ignore[method-assign]
