"""The simulated network between a design's processes and the fake services.

Every tool call is a request and a response, each with a latency drawn from the
``network`` stream. A fault hook decides each call's fate: lose the request, lose the
response after the service acted, delay either past the caller's timeout, deliver the
request twice, or have the service answer an error. Deliveries are owned by nobody (the
wire), so a request in flight still lands after its caller dies; the response then finds
a dead incarnation and is fenced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import ToolError, ToolTimeout
from ._service import InFlight, Request, Response, Service
from ._tasks import SimTimeout
from ._time import NS_PER_MS
from ._vocabulary import TraceKind

if TYPE_CHECKING:
    from ._kernel import Kernel
    from ._process import Process


@dataclass(slots=True)
class CallFate:
    """What the network does to one call. The default is an ordinary, healthy call."""

    lose_request: bool = False
    lose_response: bool = False
    request_delay_ns: int = 0
    response_delay_ns: int = 0
    duplicate: bool = False
    inject_status: int | None = None


HEALTHY = CallFate()


class NetworkHook(Protocol):
    def call_fate(self, tool: str, call: int, caller: str, key: str | None) -> CallFate | None:
        """The fate of the ``call``-th call (1-based, per tool name, whole run)."""
        ...


@dataclass(slots=True)
class NetworkConfig:
    latency_ms_min: float = 1.0
    latency_ms_max: float = 20.0


class Network:
    """Routes ``service.endpoint`` calls to services with latency and faults."""

    def __init__(
        self,
        kernel: Kernel,
        services: dict[str, Service],
        config: NetworkConfig | None = None,
        hook: NetworkHook | None = None,
    ) -> None:
        self.kernel = kernel
        self.services = services
        self.config = config or NetworkConfig()
        self.hook = hook
        self.calls: dict[str, int] = {}
        self._request_ids = 0
        self._rng = kernel.rng.stream("network")
        self._lat_min_ns = int(self.config.latency_ms_min * NS_PER_MS)
        self._lat_span_ns = int((self.config.latency_ms_max - self.config.latency_ms_min)
                                * NS_PER_MS)

    def _latency(self) -> int:
        return self._lat_min_ns + int(self._rng.random() * self._lat_span_ns)

    async def call(
        self,
        caller: Process,
        tool: str,
        args: dict[str, Any],
        idempotency_key: str | None,
        timeout_ns: int,
    ) -> dict[str, Any]:
        """Send one request and wait for its response (raises ToolTimeout/ToolError)."""
        kernel = self.kernel
        trace = kernel.trace
        service_name, _, endpoint = tool.partition(".")
        service = self.services.get(service_name)
        n = self.calls.get(tool, 0) + 1
        self.calls[tool] = n
        self._request_ids += 1
        rid = self._request_ids
        trace.record(caller.name, TraceKind.TOOL_REQUEST, tool=tool, call=n, key=idempotency_key,
                     request=rid, args=args)
        if service is None:
            trace.record(caller.name, TraceKind.TOOL_UNKNOWN, tool=tool, request=rid)
            raise ToolError(tool, 404, {"error": {"type": "invalid_request_error",
                                                  "message": f"no such tool {tool}"}})
        fate = HEALTHY
        if self.hook is not None:
            fate = self.hook.call_fate(tool, n, caller.name, idempotency_key) or HEALTHY
        reply = kernel.future()
        request = Request(endpoint, args, idempotency_key, rid, caller.name, fate.inject_status)
        sched = kernel.scheduler
        if fate.lose_request:
            trace.record("network", TraceKind.REQUEST_LOST, tool=tool, request=rid)
        else:
            sched.call_at(kernel.now_ns + self._latency() + fate.request_delay_ns,
                          self._deliver, service, tool, request, fate, reply)
            if fate.duplicate:
                sched.call_at(kernel.now_ns + self._latency() + fate.request_delay_ns,
                              self._deliver, service, tool, request, fate, None)
        try:
            with kernel.fail_after_ns(timeout_ns):
                response: Response = await reply
        except SimTimeout:
            trace.record(caller.name, TraceKind.TOOL_TIMEOUT, tool=tool, request=rid)
            raise ToolTimeout(tool, timeout_ns / 1e9) from None
        trace.record(caller.name, TraceKind.TOOL_RESPONSE, tool=tool, request=rid,
                     status=response.status)
        if response.ok:
            return response.body
        raise ToolError(tool, response.status, response.body)

    async def exchange(
        self,
        caller: Process,
        tool: str,
        door: Any,
        request: Any,
        args: dict[str, Any],
        idempotency_key: str | None,
        timeout_ns: int | None,
    ) -> Any:
        """One request to a wire ``door`` (``fakes.wire``), with the faults of ``call``.

        The same legs as ``call``: the same ``network`` stream, per-tool call counts,
        request numbers, fault hook and trace records (so fault plans that name a tool
        act on its HTTP form too). ``request`` is the door's request object; its
        ``request_id`` and ``inject_status`` are set here. Returns the door's response
        whatever its status (HTTP callers read statuses); raises ``ToolTimeout`` when no
        response came within ``timeout_ns`` (``None``: wait for ever). Calls the
        response's ``arrived()`` only here, once the waiting caller has it: a response
        lost, late, or reaching a dead incarnation never counts as given
        (``tests/fakes/wire/test_wire_net.py``)."""
        kernel = self.kernel
        trace = kernel.trace
        n = self.calls.get(tool, 0) + 1
        self.calls[tool] = n
        self._request_ids += 1
        rid = self._request_ids
        trace.record(caller.name, TraceKind.TOOL_REQUEST, tool=tool, call=n, key=idempotency_key,
                     request=rid, args=args)
        fate = HEALTHY
        if self.hook is not None:
            fate = self.hook.call_fate(tool, n, caller.name, idempotency_key) or HEALTHY
        request.request_id = rid
        request.inject_status = fate.inject_status
        reply = kernel.future()
        name, _, endpoint = tool.partition(".")
        leg = (door, name, endpoint, tool, request, fate)
        sched = kernel.scheduler
        if fate.lose_request:
            trace.record("network", TraceKind.REQUEST_LOST, tool=tool, request=rid)
        else:
            sched.call_at(kernel.now_ns + self._latency() + fate.request_delay_ns,
                          self._door_deliver, leg, reply)
            if fate.duplicate:
                sched.call_at(kernel.now_ns + self._latency() + fate.request_delay_ns,
                              self._door_deliver, leg, None)
        try:
            if timeout_ns is None:
                response = await reply
            else:
                with kernel.fail_after_ns(timeout_ns):
                    response = await reply
        except SimTimeout:
            trace.record(caller.name, TraceKind.TOOL_TIMEOUT, tool=tool, request=rid)
            raise ToolTimeout(tool, (timeout_ns or 0) / 1e9) from None
        trace.record(caller.name, TraceKind.TOOL_RESPONSE, tool=tool, request=rid,
                     status=response.status)
        response.arrived()
        return response

    def _door_deliver(self, leg: tuple[Any, ...], reply: Any) -> None:
        door, name, endpoint, _tool, request, _fate = leg
        kernel = self.kernel
        kernel.trace.record(name, TraceKind.SERVICE_BEGIN, endpoint=endpoint,
                            request=request.request_id, duplicate=reply is None)
        outcome = door.begin(request, kernel.now_ns)
        processing_ns = getattr(outcome, "processing_ns", None)
        if processing_ns is not None:  # in flight: finish it later
            kernel.scheduler.call_at(kernel.now_ns + processing_ns, self._door_finish, leg,
                                     outcome, reply)
        else:
            self._door_respond(leg, outcome, reply)

    def _door_finish(self, leg: tuple[Any, ...], flight: Any, reply: Any) -> None:
        self._door_respond(leg, leg[0].finish(flight, self.kernel.now_ns), reply)

    def _door_respond(self, leg: tuple[Any, ...], response: Any, reply: Any) -> None:
        _door, name, endpoint, tool, request, fate = leg
        self._reply(name, endpoint, tool, request.request_id, response, fate, reply)

    def _deliver(self, service: Service, tool: str, request: Request, fate: CallFate,
                 reply: Any) -> None:
        kernel = self.kernel
        kernel.trace.record(service.name, TraceKind.SERVICE_BEGIN, endpoint=request.endpoint,
                            request=request.request_id, duplicate=reply is None)
        outcome = service.begin(request, kernel.now_ns)
        if isinstance(outcome, InFlight):
            kernel.scheduler.call_at(kernel.now_ns + outcome.processing_ns, self._finish,
                                     service, tool, outcome, fate, reply)
        else:
            self._reply(service.name, request.endpoint, tool, request.request_id, outcome,
                        fate, reply)

    def _finish(self, service: Service, tool: str, flight: InFlight, fate: CallFate,
                reply: Any) -> None:
        request = flight.request
        self._reply(service.name, request.endpoint, tool, request.request_id,
                    service.finish(flight, self.kernel.now_ns), fate, reply)

    def _reply(self, component: str, endpoint: str, tool: str, request_id: int,
               response: Any, fate: CallFate, reply: Any) -> None:
        """The service answered: send the response back, unless the fault plan loses it
        (one path for the dialect's services and the wire doors, so their faults agree)."""
        kernel = self.kernel
        kernel.trace.record(component, TraceKind.SERVICE_DONE, endpoint=endpoint,
                            request=request_id, status=response.status)
        if reply is None:
            return  # the duplicate's response: nobody is waiting for it
        if fate.lose_response:
            kernel.trace.record("network", TraceKind.RESPONSE_LOST, tool=tool,
                                request=request_id, status=response.status)
            return
        kernel.scheduler.call_at(kernel.now_ns + self._latency() + fate.response_delay_ns,
                                 self._arrive, reply, response)

    @staticmethod
    def _arrive(reply: Any, response: Response) -> None:
        if not reply.done:
            reply.set_result(response)
