"""`python -m envgrid.evaluation report --period 2027-Q1 [--unit X] --out DIR [--jsonl FILE]`: the evaluation
reports (HTML per unit and for the city, CSV for the yearly target review) from case.history and case.sla,
read from the broker as the `auditor` principal or from a JSONL export.

`python -m envgrid.evaluation export --out FILE`: the broker's case.history and case.sla as JSONL.

`python -m envgrid.evaluation watch [--metrics-port 9465]`: the same indicators, folded record by record, as
Prometheus gauges (envgrid_evaluation_*) per level-2 grid and department.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.ledger import fold_all, instant
from envgrid.evaluation.periods import Period
from envgrid.evaluation.report import Evaluation, write_reports
from envgrid.evaluation.sources import read_broker, read_jsonl, write_jsonl


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "watch":
            from envgrid.evaluation.watch import watch

            watch(args.config, args.topic_prefix, args.metrics_port, args.every)
            return 0
        if args.command == "export":
            count = write_jsonl(read_broker(args.config, args.topic_prefix), args.out)
            print(f"{count} records written to {args.out}")
            return 0
        period = Period.parse(args.period)
        records = read_jsonl(args.jsonl) if args.jsonl else (value for _t, value in read_broker(args.config, args.topic_prefix))
        ledger = fold_all(records)
        as_of: datetime | None = instant(args.as_of) if args.as_of else None
        evaluation = Evaluation.of(ledger, period, WorkTime(), as_of)
        written = write_reports(evaluation, args.out, args.unit)
    except (ValueError, OSError, RuntimeError, TimeoutError) as error:
        print(f"evaluation: {error}", file=sys.stderr)
        return 2
    print(f"{len(written)} files written to {args.out} ({len(evaluation.tallies)} units, as of {evaluation.as_of.isoformat()})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the HTML reports and the CSV")
    report.add_argument("--period", required=True, help="2027 (year: the self-assessment), 2027-Q1 or 2027-03")
    report.add_argument("--unit", help="one department or grid code: only its page and the CSV")
    report.add_argument("--out", required=True, type=Path, help="directory for the HTML and CSV files")
    report.add_argument("--jsonl", type=Path, help="read this JSONL export instead of the broker")
    report.add_argument("--as-of", help="judge open cases as of this ISO-8601 time (default: the latest record's)")
    follow = commands.add_parser("watch", help="export the indicators as Prometheus gauges, record by record")
    follow.add_argument("--metrics-port", type=int, default=9465, help="metrics endpoint port (0: a free one)")
    follow.add_argument("--every", type=float, default=10.0, help="seconds between gauge updates")
    for command in (report, commands.add_parser("export", help="write case.history and case.sla as JSONL"), follow):
        command.add_argument("--config", type=Path, help="credentials file (default: the local cluster's auditor)")
        command.add_argument("--topic-prefix", help="topic prefix (default: the catalogue's)")
    commands.choices["export"].add_argument("--out", required=True, type=Path, help="the JSONL file to write")
    return parser


if __name__ == "__main__":
    sys.exit(main())
