"""``python -m civicgrid_stack``: see :mod:`civicgrid_stack.cli`."""

import sys

from civicgrid_stack.cli import main

sys.exit(main())
