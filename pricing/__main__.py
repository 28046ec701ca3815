"""``python -m pricing``: the ``pricing`` command line, for environments without the script on PATH."""

import sys

from pricing.apps.cli import main

sys.exit(main())
