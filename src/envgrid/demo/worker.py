"""`python -m envgrid.demo.worker`: the pipeline worker plus the demo's department simulator.

The same worker as `envgrid.streams.worker` (same composition, same agents), with one more processor,
`departments`: every department and grid logged in as itself (`envgrid.demo.department_simulator`), answering
the case copies on its topic through its own client. Only the demo, the tests and the benchmarks run it; a
production worker has no simulator in it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envgrid.demo.department_simulator import SimulatorSetupError, install_department_simulator
from envgrid.streams import worker
from envgrid.streams.app import Runtime


def _install_departments(runtime: Runtime, args: argparse.Namespace) -> None:
    credentials = Path(args.department_credentials) if args.department_credentials else None
    try:
        install_department_simulator(runtime, seed=args.department_seed, credentials=credentials)
    except SimulatorSetupError as error:
        print(f"envgrid demo worker: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    parser = worker.build_parser(("departments",), prog="python -m envgrid.demo.worker", description=__doc__)
    parser.add_argument("--department-seed", type=int, default=0, help="department simulator seed")
    parser.add_argument("--department-credentials", default=None, metavar="DIR",
                        help="the departments' and grids' credentials files, <principal>.properties (default: the "
                             "local cluster's, <var>/credentials)")
    return worker.main(argv, {"departments": _install_departments}, parser)


if __name__ == "__main__":
    sys.exit(main())
