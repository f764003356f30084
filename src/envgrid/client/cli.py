"""`envgrid-department` (`python -m envgrid.client`): a department's or grid's client on the command line.

    envgrid-department --config var/credentials/dept-epb.properties cases
    envgrid-department --config … show WZ-0123456789abcdef
    envgrid-department --config … watch                       # new copies as they come; Ctrl-C stops
    envgrid-department --config … ack WZ-… -m 已签收
    envgrid-department --config … transfer WZ-… --to housing --reason 施工扬尘属住建部门

`--config` names the unit's credentials file (a client properties file); the cluster is the one of
$ENVGRID_BOOTSTRAP_SERVERS and $ENVGRID_SCHEMA_REGISTRY_URL, else the local cluster if it runs. `--json` prints
JSON for systems (one object per line for `watch`). An error is one line on stderr: exit 2 for a refusal known
before sending (an unknown case, a department that does not exist, an empty reason …) and for wrong usage, 1
when the broker or the registry refused or could not be reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from envgrid.client.book import OpenCase
from envgrid.client.client import KAFKA_LOG, Delivery, DepartmentClient
from envgrid.client.errors import ClientError
from envgrid.connectors.catalogue import CatalogueError
from envgrid.connectors.settings import ClusterSettingsError
from envgrid.domain.registry.model import CHINA_TIME

PROG = "envgrid-department"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format=f"{PROG}: %(message)s")
    if not args.verbose:  # what matters of librdkafka's log comes as the one line of a ClientError
        KAFKA_LOG.setLevel(logging.CRITICAL)
    try:
        client = DepartmentClient.from_properties(args.config, principal=args.principal, topic_prefix=args.topic_prefix,
                                                  timeout=args.timeout)
        with client:
            client.login()
            return _run(client, args)
    except ClientError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return error.exit_code
    except (ClusterSettingsError, CatalogueError) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(client: DepartmentClient, args: argparse.Namespace) -> int:
    command = args.command
    if command == "cases":
        cases = client.open_cases()
        if args.json:
            print(json.dumps([case.to_dict() for case in cases], ensure_ascii=False))
        else:
            _print_cases(client, cases)
        return 0
    if command == "show":
        case = client.show(args.case)
        print(json.dumps(case.to_dict(), ensure_ascii=False) if args.json else _details(case))
        return 0
    if command == "watch":
        for copy in client.watch(group=args.group, idle=args.idle):
            print(json.dumps(copy, ensure_ascii=False, default=_json) if args.json else _copy_line(copy), flush=True)
        return 0
    delivery = _answer(client, args)
    if args.json:
        print(json.dumps(delivery.to_dict(), ensure_ascii=False))
    else:
        print(f"sent {delivery.kind} for case {delivery.case_id} as {client.author.unit_kind.lower()} {delivery.unit}: "
              f"event {delivery.event_id} ({delivery.topic} partition {delivery.partition}, offset {delivery.offset})")
    return 0


def _answer(client: DepartmentClient, args: argparse.Namespace) -> Delivery:
    case, message, unit = args.case, args.message, getattr(args, "unit", None)
    match args.command:
        case "ack":
            return client.acknowledge(case, message, unit=unit)
        case "progress":
            return client.progress(case, message, unit=unit)
        case "transfer":
            return client.transfer(case, args.to, args.reason, message=message)
        case "escalate":
            return client.request_escalation(case, args.reason, message=message, unit=unit)
        case "joint":
            return client.request_joint_enforcement(case, args.partners.split(","), lead=args.lead, message=message,
                                                    unit=unit)
        case "result":
            return client.result(case, args.resolution, message=message, unit=unit)
        case "extend":
            return client.request_extension(case, args.days, args.reason, message=message, unit=unit)
        case "close":
            return client.close_case(case, message, unit=unit)
    raise AssertionError(f"unhandled command {args.command}")


def _print_cases(client: DepartmentClient, cases: list[OpenCase]) -> None:
    console = Console(width=None if sys.stdout.isatty() else 200)
    who = f"{client.author.unit_kind.lower()} {client.author.code}"
    if not cases:
        console.print(f"no open cases for {who} ({client.cases_topic})")
        return
    table = Table(title=f"open cases of {who}: {len(cases)}", title_justify="left")
    grid = client.author.unit_kind == "GRID"
    columns = ["case", *(["unit"] if grid else []), "role", "status", "rev", "since (Beijing)", "category", "severity",
               "contact", "address"]
    for column in columns:
        table.add_column(column, no_wrap=column != "address", overflow="fold")
    for case in cases:
        table.add_row(case.case_id, *([case.unit] if grid else []), case.role, case.status.value, str(case.revision),
                      _local(case.dispatched_at), case.category, case.severity, case.complainant_contact or "",
                      case.address[:40])
    console.print(table)


def _details(case: OpenCase) -> str:
    lines = [
        ("case", case.case_id), ("unit", case.unit), ("role", case.role), ("status", case.status.value),
        ("revision", str(case.revision)), ("category", case.category), ("severity", case.severity),
        ("channel", case.channel), ("occurred", _local(case.occurred_at)),
        ("first dispatched", _local(case.first_dispatched_at)), ("dispatched", _local(case.dispatched_at)),
        ("acknowledged", _local(case.acknowledged_at)), ("lead department", case.lead_department or "-"),
        ("handling grid", case.handling_grid or "-"), ("address", case.address or "-"),
        ("description", case.description), ("complainant", case.complainant_token or "-"),
        ("contact", case.complainant_contact or "-"),
        ("handover", f"{case.handover_cause}: {case.handover_reason}" if case.handover_cause else "first dispatch"),
    ]
    lines += [(f"sent {_local(at)}", f"{kind} ({event_id})") for at, kind, event_id in case.notices]
    width = max(len(label) for label, _ in lines)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in lines)


def _copy_line(copy: dict[str, Any]) -> str:
    target, handover = copy["target"], copy.get("handover")
    change = f"{handover['change']} ({handover['cause']})" if handover else "DISPATCHED"
    address = ((copy.get("location") or {}).get("address") or "")[:40]
    return (f"{_local(copy['dispatched_at'])}  {copy['case_id']}  r{copy['revision']}  {target['code']} "
            f"{target['role']} {change}  {copy['category']} {copy['severity']}  {address}")


def _local(moment: datetime | None) -> str:
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=None,
                        help="the unit's credentials file, e.g. var/credentials/dept-epb.properties "
                             "(default: $ENVGRID_KAFKA_CONFIG)")
    parser.add_argument("--principal", default=None,
                        help="the principal to act as (default: the credentials' user; needed without authentication)")
    parser.add_argument("--topic-prefix", default=None, help="topic prefix (default $ENVGRID_TOPIC_PREFIX or envgrid)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the broker (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON (one object per line for watch)")
    parser.add_argument("--verbose", action="store_true", help="log what the Kafka client does to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("cases", help="list the open cases")
    commands.add_parser("show", help="show one open case").add_argument("case")
    watch = commands.add_parser("watch", help="print new copies as they come, in the unit's consumer group")
    watch.add_argument("--group", default=None, help="consumer group (default <principal>-desk; must start with the "
                                                     "principal's prefix)")
    watch.add_argument("--idle", type=float, default=None, help="stop after this many seconds without a new copy")

    def answer(name: str, help_text: str, message_required: bool = False, unit: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("case")
        sub.add_argument("-m", "--message", default="", required=message_required, help="free text for the case's history")
        if unit:
            sub.add_argument("--unit", default=None, help="a grid: the township or village to act as (default: the "
                                                          "handling grid, if under this grid)")
        return sub

    answer("ack", "acknowledge (签收) a case")
    answer("progress", "report progress", message_required=True)
    transfer = answer("transfer", "ask to transfer (移交移送) a case that is not the department's", unit=False)
    transfer.add_argument("--to", default=None, help="the department responsible (default: the pipeline picks)")
    transfer.add_argument("--reason", required=True, help="why the case is not the department's")
    answer("escalate", "ask the upper grid to take the case (上报)").add_argument("--reason", required=True)
    joint = answer("joint", "ask for joint enforcement (联合执法)")
    joint.add_argument("--with", dest="partners", required=True, help="departments taking part, comma-separated")
    joint.add_argument("--lead", default=None, help="the lead department (a grid naming one; default: the case's lead)")
    answer("result", "report the result (办结)").add_argument("--resolution", required=True, help="what was done and found")
    extend = answer("extend", "ask for more working days (申请延期)")
    extend.add_argument("--days", type=int, required=True, help="working days asked for")
    extend.add_argument("--reason", required=True)
    answer("close", "close a resolved case (结案)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
