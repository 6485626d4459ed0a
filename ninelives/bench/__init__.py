"""Benchmarks: ``python -m ninelives.bench`` (``make bench``); figures in docs/scale.md.

Each figure is a function registered with ``@figure(name, unit=..., target=...)``; the run
prints every figure beside its target and writes them to ``bench-results.json``. Speed is
stated as figures measured side by side in one run, never asserted in tests.
"""

from . import (
    _figures,  # noqa: F401  (registers the detection, shrink and speed-up figures)
    _frameworks,  # noqa: F401  (registers the LangGraph and DBOS examples' figures)
    _isolation,  # noqa: F401  (registers the process-isolation figures)
    _ratios,  # noqa: F401  (registers the ratio and rare-bug figures)
    _sdk,  # noqa: F401  (registers the SDK example's figures)
)
from ._bench import main as main
from ._bench import write_results as write_results
from ._registry import FIGURES as FIGURES
from ._registry import Figure as Figure
from ._registry import figure as figure
