"""``import-clock``: a clock bound at import stamps each key with the minute.

``from time import time`` binds the function when the module is imported, and the key
includes the minute of the attempt: a retry in another minute sends another key, and
the provider charges again.
"""

from __future__ import annotations

from time import time

from ._protocol import ProtocolWorker


class ImportClockWorker(ProtocolWorker):
    def key(self, wid: str, step: int) -> str:
        return f"{wid}/step-{step}/{int(time() // 60)}"  # the flaw: a key that ages


IMPORT_CLOCK = ImportClockWorker.design(
    "import-clock", "keys stamped by the minute with a clock bound at import")
