"""Every exception ninelives raises on purpose, in one tree (docs/errors.md).

::

    NineLivesError                   the root
    ├── InputError (ValueError)      bad input from a user: one plain line; exit status 2
    │   ├── OutputError              an output file or directory cannot be written
    │   ├── UsageError               bad command-line arguments (ninelives.cli)
    │   ├── ScenarioError            an unknown or unrunnable scenario (scenarios)
    │   │   └── ScenarioFault        a user's scenario is broken: fails to import, lacks
    │   │                            build/final_state, or its own code raised mid-run
    │   ├── DesignError              an unknown design, or one that fails to import
    │   │                            (reference_agent)
    │   ├── PlanError                a fault plan that cannot be read or is invalid (faults)
    │   ├── IsolationError           process isolation cannot import the design (simulator)
    │   └── DaskUnavailable          --dask names a cluster that cannot be used
    ├── HarnessError (RuntimeError)  ninelives itself failed: exit status 2
    │   ├── KernelError              the simulation was used in a way it does not support
    │   └── TimeTravelError          virtual time was asked to go backwards (simulator)
    ├── the port errors a design sees (simulator): ToolTimeout (TimeoutError),
    │   ToolError, ModelTimeout (TimeoutError), StoreConflict, SimTimeout (TimeoutError)
    └── SimulationFailure (AssertionError)   a run broke an invariant (ninelives.hypothesis)

The engine raises these and prints nothing; the front doors alone decide what a user
sees: the command line (``ninelives.cli``, the only place that maps errors to exit
codes) prints ``InputError`` and ``HarnessError`` as one line and exits 2, the pytest
plugin turns an ``InputError`` into a failed test or a ``pytest.UsageError``. Anything
else escaping the harness is a bug in ninelives (exit status 2 with "unexpected",
traceback under ``NINELIVES_DEBUG=1``). An exception raised by a design is never one of
these: it is a finding about the design (a violation, exit status 1).

Each class sets ``__module__`` to the public module it is imported from, so a traceback
reads ``simulator.ToolTimeout``, not ``simulator._errors.ToolTimeout``
(``tests/ninelives/test_errors.py``).

This module imports nothing, so every package, the lowest included, can raise its
branch without importing upward (``tests/test_layers.py``).
"""

from __future__ import annotations


class NineLivesError(Exception):
    """The root of every exception ninelives raises on purpose: ``except NineLivesError``
    catches every error of the harness and none of a design's own."""


class InputError(NineLivesError, ValueError):
    """Bad input from the user: the message is one plain line that names the input and
    its value. A ``ValueError`` too, so a caller of the Python API that catches
    ``ValueError`` for a bad argument still does."""


class OutputError(InputError):
    """An output file or directory the user named cannot be written."""


class DaskUnavailable(InputError):
    """``--dask`` named a cluster that cannot be used: dask is not installed, the address
    is malformed, or the scheduler or its workers cannot be reached."""


class HarnessError(NineLivesError, RuntimeError):
    """ninelives itself failed, not the design and not the input: a simulation used in a
    way it does not support, a real-mode process that did not start or answer. The
    command line prints its first line and exits 2 (a ``RuntimeError`` too, as these
    were before the tree had a root)."""
