"""`python -m envgrid.demo.worker`: the pipeline worker plus the demo's department simulator.

The same worker as `envgrid.streams.worker` (same composition, same agents), with one more processor,
`departments`: simulated departments that answer the case copies on their topics. Only the demo, the
tests and the benchmarks run it; a production worker has no simulator in it.
"""

from __future__ import annotations

import argparse
import sys

from envgrid.demo.department_agent import install_department_simulator
from envgrid.streams import worker
from envgrid.streams.app import Runtime


def _install_departments(runtime: Runtime, args: argparse.Namespace) -> None:
    install_department_simulator(runtime, seed=args.department_seed)


def main(argv: list[str] | None = None) -> int:
    parser = worker.build_parser(("departments",), prog="python -m envgrid.demo.worker", description=__doc__)
    parser.add_argument("--department-seed", type=int, default=0, help="department simulator seed")
    return worker.main(argv, {"departments": _install_departments}, parser)


if __name__ == "__main__":
    sys.exit(main())
