"""Every exception ninelives raises on purpose, in one tree (docs/errors.md).

::

    NineLivesError                  the root
    ├── InputError (ValueError)     bad input from a user: one plain line; exit status 2
    │   ├── OutputError             an output file or directory cannot be written
    │   ├── UsageError              bad command-line arguments (ninelives.cli)
    │   ├── ScenarioError           an unknown or broken scenario (scenarios)
    │   ├── DesignError             an unknown design, or one that fails to import
    │   ├── PlanError               a fault plan that cannot be read or is invalid (faults)
    │   ├── IsolationError          process isolation cannot import the design (simulator)
    │   └── DaskUnavailable         --dask names a cluster that cannot be used
    └── ...                         the port errors a design sees (simulator):
                                    ToolTimeout, ToolError, ModelTimeout, StoreConflict

The engine raises these and prints nothing; the front doors alone decide what a user
sees: the command line maps ``InputError`` to one line and exit status 2, the pytest
plugin to a ``pytest.UsageError``. Anything else escaping the harness is a bug in
ninelives (exit status 2 with "unexpected", traceback under ``NINELIVES_DEBUG=1``); an
exception raised by a design is never one of these: it is a finding about the design.

This module imports nothing, so every package, the lowest included, can raise its
branch without importing upward (``tests/test_layers.py``).
"""

from __future__ import annotations


class NineLivesError(Exception):
    """The root of every exception ninelives raises on purpose."""


class InputError(NineLivesError, ValueError):
    """Bad input from the user: the message is one plain line that names the input."""


class OutputError(InputError):
    """An output file or directory the user named cannot be written."""
