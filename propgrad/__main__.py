"""``python -m propgrad`` runs the command line (see :mod:`propgrad.cli`)."""

import sys

from propgrad.cli import main

sys.exit(main())
