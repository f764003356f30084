from envgrid.simulator.cli import main

raise SystemExit(main())
