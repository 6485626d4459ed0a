"""No CA bundle is read on a simulated run's thread; everywhere else it is."""

from __future__ import annotations

import ssl
import threading

import certifi

from fakes.wire import no_ca_loading


def _certs_loaded() -> int:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(certifi.where())
    return len(context.get_ca_certs())


def test_inside_nothing_is_loaded_and_other_threads_and_after_load_as_usual() -> None:
    before = _certs_loaded()
    assert before > 10
    seen: list[int] = []
    with no_ca_loading():
        assert _certs_loaded() == 0
        other = threading.Thread(target=lambda: seen.append(_certs_loaded()))
        other.start()
        other.join(10)
    assert seen == [before]  # another thread is never affected
    assert _certs_loaded() == before  # restored on exit
