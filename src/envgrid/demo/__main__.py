"""`python -m envgrid.demo`: the main job (see envgrid.demo.run)."""

import sys

from envgrid.demo.run import main

sys.exit(main())
