"""The ``ninelives`` command (docs/cli.md): one module per subcommand (``_run``,
``_replay``, ``_shrink``, ``_explore``, ``_check``, ``_list``, and real mode's ``_real``),
one set of argument types (``_args``), and the one place where errors become exit codes
(``_main``; docs/errors.md).

Importing this package is cheap: handlers import the engine and the reports when they run.
"""

from ._args import default_workers as default_workers
from ._main import DEFAULT_SEEDS as DEFAULT_SEEDS
from ._main import PROG as PROG
from ._main import UsageError as UsageError
from ._main import build_parser as build_parser
from ._main import main as main
