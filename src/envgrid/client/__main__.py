"""`python -m envgrid.client`: the department client's command (`envgrid-department`)."""

import sys

from envgrid.client.cli import main

sys.exit(main())
