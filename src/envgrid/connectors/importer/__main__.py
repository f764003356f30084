"""`python -m envgrid.connectors.importer FILE --mapping MAPPING.yaml [--rate N/s] [--checkpoint PATH]
[--rejected PATH]`: import a 12345/12369 hotline export (CSV, JSONL or XLSX) into the complaint intake topic.

Every row becomes a PetitionComplaint checked as the router checks it, or a line of the rejected-rows report;
the summary at the end counts read = sent + rejected. Killed midway, the same command resumes from the
checkpoint; run again on an imported file, it sends nothing. Connects as the `intake-gateway` principal: the
cluster named by ENVGRID_BOOTSTRAP_SERVERS / ENVGRID_SCHEMA_REGISTRY_URL (and its security variables), else the
running local cluster.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.importer.checkpoint import CheckpointError, FileIdentity, load_checkpoint
from envgrid.connectors.importer.convert import EVENT_NAME, Converter
from envgrid.connectors.importer.mapping import load_mapping
from envgrid.connectors.importer.rate import DEFAULT_RATE, TokenBucket, parse_rate
from envgrid.connectors.importer.readers import InputFileError, open_rows
from envgrid.connectors.importer.rejected import RejectedReport
from envgrid.connectors.importer.run import PRODUCER_SETTINGS, Sink, Summary, finished_summary, import_rows
from envgrid.domain.config_errors import ConfigError

PRINCIPAL = "intake-gateway"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    file: Path = args.file
    checkpoint_path: Path = args.checkpoint or file.with_name(file.name + ".checkpoint.json")
    rejected_path: Path = args.rejected or file.with_name(file.name + ".rejected.csv")
    try:
        rate = parse_rate(args.rate)
        mapping = load_mapping(args.mapping)
        topic = Catalogue.load(prefix=args.prefix).intake(EVENT_NAME)
        with open_rows(file, mapping.encoding, mapping.sheet) as rows:
            missing = [c for c in mapping.columns() if rows.columns and c not in rows.columns]
            if missing:
                raise InputFileError(f"{file}: no column {', '.join(missing)} (the mapping {mapping.path} reads it); "
                                     f"the file's columns: {', '.join(rows.columns)}")
            checkpoint = load_checkpoint(checkpoint_path, file, FileIdentity.of(file), topic)
            if checkpoint.finished:
                _print_summary(finished_summary(checkpoint), checkpoint_path, rejected_path, topic)
                return 0
            header, producer = _connect(topic)
            report = RejectedReport(rejected_path, rows.columns, checkpoint.row)
            sink = Sink(producer, topic, header, report)
            bucket = TokenBucket(rate) if rate else None
            try:
                with _ProgressBar(args.progress, rows.total, checkpoint.row) as progress:
                    summary = import_rows(rows, Converter(mapping), sink, checkpoint, checkpoint_path, bucket=bucket,
                                          total=rows.total, progress=progress)
            finally:
                report.close()
    except (ConfigError, InputFileError, CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _print_summary(summary, checkpoint_path, rejected_path, topic)
    return 0 if summary.finished else 1


# --- helpers ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.importer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="the export: .csv (UTF-8 or GBK/GB18030), .jsonl or .xlsx")
    parser.add_argument("--mapping", type=Path, required=True,
                        help="column-mapping YAML, e.g. src/envgrid/config/import/wenzhou-12345.yaml")
    parser.add_argument("--rate", default=f"{DEFAULT_RATE:.0f}/s",
                        help=f"at most this many rows per second, e.g. 2000/s, or `unlimited` (default "
                             f"{DEFAULT_RATE:.0f}/s, leaving the router room for live complaints)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint file (default FILE.checkpoint.json)")
    parser.add_argument("--rejected", type=Path, default=None, help="rejected-rows report (default FILE.rejected.csv)")
    parser.add_argument("--prefix", default=None, help="topic prefix (default $ENVGRID_TOPIC_PREFIX or envgrid)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser


def _connect(topic: str) -> tuple[bytes, Any]:
    """(the registry header of PetitionComplaint's current schema, an idempotent producer) as intake-gateway."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    from envgrid.connectors.serde import EventCodec, registry_client
    from envgrid.connectors.settings import ClusterSettingsError, cluster_settings
    from envgrid.connectors.wire import header
    from envgrid.localcluster.cluster import LocalCluster

    addresses = cluster_settings() or LocalCluster().addresses(PRINCIPAL)
    if addresses is None:
        raise ClusterSettingsError("No cluster configured: set ENVGRID_BOOTSTRAP_SERVERS and ENVGRID_SCHEMA_REGISTRY_URL "
                                   "(and the intake-gateway's credentials), or start the local cluster "
                                   "(`python -m envgrid.localcluster up`)")
    codec = EventCodec(registry_client(addresses), auto_register=False)
    try:
        schema_id = codec.schema_id(EVENT_NAME)
    except SchemaRegistryError as error:
        raise ClusterSettingsError(f"the schema registry has no current {EVENT_NAME} schema ({error}); the pipeline "
                                   f"registers its schemas at deploy (envgrid.connectors.serde.register_all)") from None
    producer = Producer(addresses.kafka_config(PRODUCER_SETTINGS))
    found = producer.list_topics(topic, timeout=15).topics.get(topic)
    if found is None or found.error is not None:
        raise ClusterSettingsError(f"{topic}: {found.error if found is not None else 'no such topic'}; create the topics "
                                   f"(`python -m envgrid.connectors.catalogue apply`), check --prefix, and that "
                                   f"{PRINCIPAL} may write it (config/principals.yaml)")
    return header(schema_id), producer


class _Speed(ProgressColumn):
    """rows/s of the bar's task (rich's own speed column shows bytes)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>7,.0f} rows/s")


class _ProgressBar:
    """A rich progress bar with rows/s and ETA (on a terminal; nothing when off), as a `Progress` callback."""

    def __init__(self, enabled: bool, total: int | None, start: int) -> None:
        self.enabled, self.start = enabled, start
        self.bar = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                            _Speed(), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(), disable=not enabled, transient=False)
        self.task = self.bar.add_task("import", total=total, completed=start)
        self._shown = start

    def __enter__(self) -> Any:
        self.bar.start()
        return self.update

    def __exit__(self, *exc: object) -> None:
        self.bar.update(self.task, completed=self._shown)
        self.bar.stop()

    def update(self, done: int, total: int | None) -> None:
        if done - self._shown >= 500:  # redrawing on every row would cost more than the row
            self.bar.update(self.task, completed=done)
            self._shown = done


def _print_summary(summary: Summary, checkpoint: Path, rejected: Path, topic: str) -> None:
    if summary.already_done:
        print(f"{topic}: already imported ({checkpoint} says every row is done); nothing sent. Delete the checkpoint "
              f"to import the file again (its rows keep their event ids: the router sees redeliveries).")
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in summary.rejected.most_common()) or "none"
    print(f"read {summary.read:,} rows = sent {summary.sent:,} + rejected {sum(summary.rejected.values()):,} "
          f"({reasons})" + ("" if summary.finished else " so far (NOT finished)"))
    if not summary.already_done:
        resumed = f", resumed after row {summary.resumed_from:,}" if summary.resumed_from else ""
        print(f"{summary.rows_per_s:,.0f} rows/s, {summary.elapsed_s:.1f} s{resumed}; produced {summary.produced:,} "
              f"records to {topic}; rejected rows in {rejected}; checkpoint {checkpoint}")
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    print("summary: " + json.dumps(summary.to_json(), ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
