"""The wire between the harness and an isolated incarnation: framed pickles on pipes.

Both sides are ours and run the same code, so a message is a pickled tuple (pickle keeps
tuples tuples and dict keys in insertion order, which orjson would not), framed by a
4-byte length. A message of a port operation is some 50-200 bytes; pickling it costs
about 1 us against some 15 us for the round trip itself (docs/architecture.md, "Process
isolation").

Exceptions cross as (module, qualified name, args, attributes) rather than as pickles:
``ToolError(tool, status, body)`` cannot be unpickled from its ``args`` (its
``__init__`` wants three arguments), and a design's own exception class may not be
importable on the other side. ``decode_exception`` rebuilds the same class where it can
and a stand-in of the same name where it cannot, so ``f"{type(e).__name__}: {e}"`` -- what
the trace and the liveness finding print -- is the same in both modes
(``tests/simulator/test_isolation.py::test_design_exception_is_a_death_with_its_message``).
"""

from __future__ import annotations

import importlib
import os
import pickle
import struct
from typing import Any

_HEADER = struct.Struct("!I")
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_dumps = pickle.dumps
_loads = pickle.loads
_read = os.read
_write = os.write


class WireClosed(EOFError):
    """The other end closed its pipe (it exited or was killed)."""


def send(fd: int, message: Any) -> None:
    """Write one framed message (blocks until the pipe takes all of it)."""
    payload = _dumps(message, _PROTOCOL)
    data = _HEADER.pack(len(payload)) + payload
    while data:
        written = _write(fd, data)
        data = data[written:]


def recv(fd: int) -> Any:
    """Read one framed message; ``WireClosed`` at end of file."""
    data = _read(fd, 65536)
    if len(data) < 4:
        data = _more(fd, data, 4)
    (size,) = _HEADER.unpack_from(data)
    end = size + 4
    if len(data) < end:
        data = _more(fd, data, end)
    return _loads(memoryview(data)[4:end])


def _more(fd: int, data: bytes, size: int) -> bytes:
    chunks = [data]
    have = len(data)
    while have < size:
        chunk = _read(fd, max(size - have, 65536))
        if not chunk:
            raise WireClosed("the other end closed the pipe")
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


# --- exceptions ----------------------------------------------------------------------
def encode_exception(error: BaseException) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    """What ``decode_exception`` needs to rebuild ``error`` on the other side."""
    cls = type(error)
    args = error.args
    attrs = dict(getattr(error, "__dict__", {}))
    try:
        _dumps((args, attrs), _PROTOCOL)
    except Exception:  # unpicklable arguments: keep the message, which is what is shown
        args, attrs = (str(error),), {}
    return cls.__module__, cls.__qualname__, args, attrs


def decode_exception(encoded: tuple[str, str, tuple[Any, ...], dict[str, Any]]
                     ) -> BaseException:
    """The exception ``encode_exception`` described: its own class if importable here
    and an ``Exception`` (no ``__init__`` is called: ``args`` and attributes are set as
    they were), else a stand-in ``Exception`` subclass of the same name."""
    module, qualname, args, attrs = encoded
    cls: Any = None
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except Exception:
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(qualname.rpartition(".")[2], (Exception,), {"__module__": module})
    error = cls.__new__(cls, *args)
    error.args = args
    if attrs:
        try:
            error.__dict__.update(attrs)
        except AttributeError:
            pass
    return error  # type: ignore[no-any-return]
