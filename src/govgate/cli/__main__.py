"""`python -m govgate.cli` is the `govgate` command."""

import sys

from . import main

sys.exit(main())
