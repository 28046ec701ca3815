"""``python -m pricing.apps.cli``: the same command line as ``pricing`` and ``python -m pricing``."""

import sys

from pricing.apps.cli import main

sys.exit(main())
