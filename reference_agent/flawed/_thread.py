"""``thread``: starts a background thread in each incarnation.

The thread warms a cache beside the worker. Inline it runs outside the simulation: on
real time, scheduled by the OS, untouched by a simulated crash. ninelives reports the
thread (``thread-started``).
"""

from __future__ import annotations

import threading

from simulator import Env

from ._protocol import ProtocolWorker


def _warm() -> None:
    sum(range(1_000))  # stands for warming a cache


class ThreadWorker(ProtocolWorker):
    def __init__(self, env: Env) -> None:
        super().__init__(env)
        threading.Thread(target=_warm, name="cache-warmer", daemon=True).start()  # flaw


THREAD = ThreadWorker.design(
    "thread", "starts a background thread in each incarnation")
