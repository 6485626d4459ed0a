"""The pytest plugin (entry point ``pytest11: ninelives``): ``@pytest.mark.ninelives``,
``--ninelives-seeds`` and friends, the ``ninelives_result`` and ``ninelives_sweep``
fixtures, and the "ninelives" summary section. docs/pytest.md.

pytest reads hooks and fixtures off this module, so each is re-exported here by name;
the implementation is ``ninelives.testing``. Importing this module is cheap (every pytest
session of every project that has ninelives installed does): the harness is imported
only when a marked test runs.
"""

from .testing._pytest import SweepSummary as SweepSummary
from .testing._pytest import ninelives_result as ninelives_result
from .testing._pytest import ninelives_sweep as ninelives_sweep
from .testing._pytest import pytest_addoption as pytest_addoption
from .testing._pytest import pytest_configure as pytest_configure
from .testing._pytest import pytest_generate_tests as pytest_generate_tests
from .testing._pytest import pytest_runtest_call as pytest_runtest_call
from .testing._pytest import run_sweep as run_sweep
