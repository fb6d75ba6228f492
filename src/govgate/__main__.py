"""`python -m govgate` is the `govgate` command."""

import sys

from .cli import main

sys.exit(main())
