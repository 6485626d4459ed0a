"""Benchmarks: ``python -m ninelives.bench`` (``make bench``); figures in docs/scale.md.

Each figure is a function registered with ``@figure(name, unit=..., target=...)``; the run
prints every figure beside its target and writes them to ``bench-results.json``. Speed is
stated as figures measured side by side in one run, never asserted in tests.
"""

# Imported for what they register: the detection, shrink and speed-up figures, and the
# process-isolation figures.
from . import _figures, _isolation  # noqa: F401
from ._bench import main as main
from ._bench import write_results as write_results
from ._registry import FIGURES as FIGURES
from ._registry import Figure as Figure
from ._registry import figure as figure
