import sys

from envgrid.spotcheck.cli import main

sys.exit(main())
