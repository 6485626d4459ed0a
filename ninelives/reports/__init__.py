"""What a user reads: the terminal report and timeline (``_terminal``, rich), the
standalone HTML timeline (``_html``) and the markdown of ``check``. Reports render the
engine's results and never run anything themselves; they import the engine, never the
command line (``tests/ninelives/test_layers.py``)."""

from ._html import render as render_html  # noqa: F401  (the name says which render)
from ._markdown import to_markdown as to_markdown
from ._terminal import MAX_FAILURES as MAX_FAILURES
from ._terminal import make_console as make_console
from ._terminal import print_evidence as print_evidence
from ._terminal import print_failures as print_failures
from ._terminal import print_lines as print_lines
from ._terminal import print_replay as print_replay
from ._terminal import print_sweeps as print_sweeps
from ._terminal import print_timeline as print_timeline
from ._terminal import print_violation as print_violation
from ._terminal import sweep_tables as sweep_tables
from ._terminal import verdict as verdict
