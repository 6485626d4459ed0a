"""``python -m ninelives``: the same as the ``ninelives`` command."""

from .cli import main

raise SystemExit(main())
