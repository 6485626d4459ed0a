"""How HTTP reaches the fakes in a simulated run: a world's HTTP front door.

``attach_http(world, doors)`` gives a world a ``WireRouter`` over wire doors built on
the world's own services and model, and an ``HttpFront`` that sends each request
through the world's simulated network (``Network.exchange``: the same latency stream,
per-tool call counts, fault hook and trace records as the dialect's ``env.tools.call``,
so a fault plan that names ``payments.payment_intents.create`` acts on its HTTP form
too). Two ways in, both on the run's thread only:

- ``await http_request(method, url, headers, body, timeout_s)`` from a design's asyncio
  code: the door's ``HttpResponse`` whatever its status, or ``ToolTimeout``;
- every ``httpx.AsyncHTTPTransport.handle_async_request`` and
  ``httpx2.AsyncHTTPTransport.handle_async_request`` (the transports the openai,
  anthropic and stripe SDKs build for themselves) while the run is in progress; a
  timeout is the library's own ``ReadTimeout``, so the SDKs retry as in production.

A request to a host no door serves is a ``SimulationEscape`` finding naming the URL.
Other threads, and code outside a run, get the real transport (as the shims do). In
process isolation the child's httpx sends each request to this front door through the
harness (``simulator/_child.py``, ``_install_http``): same faults, trace and findings.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from simulator import NS_PER_S, Process, ToolTimeout, World, escape, import_bound_shims

from ._http import HttpRequest, HttpResponse, WireDoor, WireRouter
from ._tls import no_ca_loading

#: what a request without a read timeout waits for: for ever, as on a real network (the
#: SDKs always set one; such a request holds a lost response until the liveness bound)
_NO_TIMEOUT_S = None


class HttpFront:
    """A world's HTTP front door: requests by host to its doors, through its network."""

    def __init__(self, world: World, router: WireRouter) -> None:
        self.world = world
        self.router = router
        self._thread: int | None = None

    def _caller(self) -> Process:
        task = self.world.kernel.current_task
        owner = getattr(task, "owner", None)
        process = getattr(owner, "process", None)
        if process is None:
            raise RuntimeError("an HTTP request in a simulated run must come from a "
                               "design's process")
        return process  # type: ignore[no-any-return]

    async def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                      body: bytes | str = b"", timeout_s: float | None = 30.0) -> HttpResponse:
        """Send one request through the simulated network; the door's response."""
        kernel = self.world.kernel
        process = self._caller()
        request = HttpRequest(method, url, dict(headers or {}), body, caller=process.name)
        door = self.router.door_for(request)
        if door is None:
            raise escape(kernel, f"HTTP {request.method} {url} (no fake serves "
                                 f"{request.host or 'that URL'})")
        tool = door.tool(request) or f"http.{request.host}"
        key = request.headers.get("idempotency-key")
        # A crash point before each request, as before each dialect tool call.
        await process.port_op("tool.call", {"tool": tool, "key": key})
        if self.world.side_effecting(tool):
            # Sending a side effect is acting on what the model answered so far, as a
            # dialect design's commit is: asking one of those decisions again after a
            # restart is then ``model-once-per-decision`` (an SDK agent's state may live
            # in SQLite, which the fake model cannot watch; what it sends, it can).
            self.world.model.acted(process.name)
        args = {"method": request.method, "url": url,
                "body": request.body.decode("utf-8", "replace")}
        timeout_ns = None if timeout_s is None else int(timeout_s * NS_PER_S)
        return await self.world.network.exchange(  # type: ignore[no-any-return]
            process, tool, door, request, args, key, timeout_ns)

    @contextmanager
    def intercepting(self) -> Iterator[HttpFront]:
        """Route httpx/httpx2 async transports here, on this thread, until exit."""
        previous = _active.front
        _active.front = self
        _install()
        swapped = _rebind_library_clocks()
        try:
            yield self
        finally:
            for module, name, real, shim in swapped:
                if getattr(module, name, None) is shim:
                    setattr(module, name, real)
            _uninstall()
            _active.front = previous


def attach_http(world: World, doors: Iterable[WireDoor]) -> HttpFront:
    """Give ``world`` an HTTP front door over ``doors`` (built on its own services and
    model: one ledger, one fault model), intercepting httpx/httpx2 in inline runs."""
    front = HttpFront(world, WireRouter(doors))
    world.interceptors.append(front.intercepting)
    world.interceptors.append(no_ca_loading)
    isolated = world.isolated
    if isolated is not None:  # process isolation: the children's httpx requests
        isolated.http = front
    return front


async def http_request(method: str, url: str, headers: Mapping[str, str] | None = None,
                       body: bytes | str = b"", timeout_s: float | None = 30.0) -> HttpResponse:
    """One HTTP request from a design's asyncio code in a simulated run (``HttpFront``)."""
    front = _active.front
    if front is None:
        raise RuntimeError("http_request needs a simulated run with HTTP doors "
                           "(fakes.wire.attach_http)")
    return await front.request(method, url, headers, body, timeout_s)


# --- interception of httpx and httpx2 ------------------------------------------------------


class _Active(threading.local):
    front: HttpFront | None = None


_active = _Active()
# (class, method, original) for each patched transport; installed by the first active front on
# any thread, restored by the last (patched methods fall through on other threads)
_patched: list[tuple[Any, Any]] = []
_depth = 0
_lock = threading.Lock()


#: the HTTP libraries and SDKs whose import-bound clocks and randomness a run rebinds
_LIBRARIES = ("openai", "anthropic", "stripe", "httpx", "httpx2", "httpcore", "httpcore2",
              "anyio", "sniffio")


def _rebind_library_clocks() -> list[tuple[Any, str, Any, Any]]:
    """Point the SDKs' import-bound clock and random *functions* at the run's shims.

    openai binds ``from random import random`` at import for its retry jitter; the
    shims replace ``random.random`` but not a name bound before, so two runs of one
    seed drew different backoffs (``test_same_seed_same_trace_with_sdk_retries``).
    The same rebinding the inline watch does for a design's own modules
    (``simulator/_watch.py``), here for the libraries whose requests we intercept.
    Classes (``datetime``, bound in hundreds of anthropic type modules) are left alone:
    they are annotations there, and rebinding them made a run cost 15 ms more. The
    scan is cached until more modules are imported (it costs some 15 ms; a rebind
    from the cache, microseconds). Returns (module, name, real, shim) to restore.
    """
    global _scanned
    if _scanned is None or _scanned[0] != len(sys.modules):
        bound = import_bound_shims()
        hits = []
        for modname in sorted(sys.modules):  # sorted: a fixed order, whatever the hashes
            if modname.partition(".")[0] not in _LIBRARIES:
                continue
            names = getattr(sys.modules[modname], "__dict__", None)
            if not isinstance(names, dict):
                continue
            for name, value in list(names.items()):
                hit = bound.get(id(value))
                if hit is not None and hit[1] is value and not isinstance(value, type):
                    hits.append((sys.modules[modname], name, value, hit[2]))
        _scanned = (len(sys.modules), hits)
    swapped = []
    for module, name, real, shim in _scanned[1]:
        if module.__dict__.get(name) is real:
            setattr(module, name, shim)
            swapped.append((module, name, real, shim))
    return swapped


_scanned: tuple[int, list[tuple[Any, str, Any, Any]]] | None = None


def _transports() -> list[Any]:
    """httpx and httpx2, those of them installed (neither is a dependency of ninelives)."""
    import importlib

    out = []
    for name in ("httpx", "httpx2"):
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            pass
    return out


def _install() -> None:
    global _depth
    with _lock:
        _depth += 1
        if _depth > 1:
            return
        for module in _transports():
            cls = module.AsyncHTTPTransport
            original = cls.handle_async_request
            cls.handle_async_request = _intercept(module, original)
            _patched.append((cls, "handle_async_request", original))
        for cls, method in _sync_transports():
            original = getattr(cls, method)
            setattr(cls, method, _refuse_sync(original))
            _patched.append((cls, method, original))


def _uninstall() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth > 0:
            return
        while _patched:
            cls, method, original = _patched.pop()
            setattr(cls, method, original)


def _sync_transports() -> list[tuple[Any, str]]:
    """The blocking transports: httpx's and httpx2's ``HTTPTransport`` and ``requests``'
    ``HTTPAdapter`` (what ``stripe.StripeClient`` uses by default for its sync calls).
    Kept in step with ``simulator/_child.py``'s ``sync_transports``."""
    import importlib

    out: list[tuple[Any, str]] = [(module.HTTPTransport, "handle_request")
                                  for module in _transports()]
    try:
        out.append((importlib.import_module("requests.adapters").HTTPAdapter, "send"))
    except ImportError:
        pass
    return out


def _refuse_sync(original: Any) -> Any:
    """A blocking request in a run is not simulated (the caller's frame cannot wait for
    virtual time inside the loop): a finding naming it, the same words as in a child
    (``tests/fakes/wire/test_wire_net_isolated.py::test_a_sync_request_is_a_named_finding``)."""
    def send_request(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        front = _active.front
        if front is None:  # another thread, or no run: the real transport
            return original(self, request, *args, **kwargs)
        raise escape(front.world.kernel, f"sync HTTP {request.method} {request.url} (a "
                                         "blocking request is not simulated: use the "
                                         "library's async client)")

    send_request.__wrapped__ = original  # type: ignore[attr-defined]
    send_request.__name__ = original.__name__
    return send_request


def _intercept(module: Any, original: Any) -> Any:
    async def handle_async_request(self: Any, request: Any) -> Any:
        front = _active.front
        if front is None:  # another thread, or no run: the real transport
            return await original(self, request)
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        timeout_s = timeouts.get("read", _NO_TIMEOUT_S)
        try:
            response = await front.request(request.method, str(request.url),
                                           dict(request.headers), body, timeout_s)
        except ToolTimeout:
            raise module.ReadTimeout("timed out (simulated network)", request=request) from None
        return module.Response(response.status, headers=list(response.headers.items()),
                               content=response.body, request=request)

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request
