"""``python -m ninelives.real <agent|services|torture|demo> ...``."""

import sys

from . import main

sys.exit(main())
