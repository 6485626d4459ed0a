"""The deterministic world: kernel, processes, trace, RNG streams, and shims.

Everything here is re-exported from private modules; import from ``simulator``.
"""

from ._core import Handle as Handle
from ._core import Scheduler as Scheduler
from ._core import TimeTravelError as TimeTravelError
from ._kernel import Kernel as Kernel
from ._kernel import KernelError as KernelError
from ._kernel import current_kernel as current_kernel
from ._process import Incarnation as Incarnation
from ._process import OpHook as OpHook
from ._process import Process as Process
from ._process import graveyard_size as graveyard_size
from ._rng import Rng as Rng
from ._rng import derive_seed as derive_seed
from ._shims import VIRTUAL_EPOCH_S as VIRTUAL_EPOCH_S
from ._shims import Shims as Shims
from ._tasks import Cancelled as Cancelled
from ._tasks import CancelScope as CancelScope
from ._tasks import Event as Event
from ._tasks import Future as Future
from ._tasks import Queue as Queue
from ._tasks import SimTimeout as SimTimeout
from ._tasks import Task as Task
from ._time import NS_PER_DAY as NS_PER_DAY
from ._time import NS_PER_HOUR as NS_PER_HOUR
from ._time import NS_PER_MS as NS_PER_MS
from ._time import NS_PER_S as NS_PER_S
from ._time import ns_to_seconds as ns_to_seconds
from ._time import seconds_to_ns as seconds_to_ns
from ._trace import Trace as Trace
from ._trace import TraceEvent as TraceEvent
from ._trace import canonical_json as canonical_json
