"""``python -m ninelives.real <agent|services|torture|demo> ...``: the ``ninelives``
command line (real mode's commands are registered there, ``ninelives.cli._real``), under
the name real mode's worker processes are started with and recognised by
(``_procs.py``, ``_app.py``)."""

from ninelives.cli import main

raise SystemExit(main())
