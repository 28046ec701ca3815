import sys

from pricing.apps.cli import main

sys.exit(main())
