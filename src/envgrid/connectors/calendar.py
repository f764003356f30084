"""`python -m envgrid.connectors.calendar publish src/envgrid/config/calendar/2027.yaml` (or `envgrid-calendar publish
<file>`): put a new or corrected year's holiday schedule into force in the running pipeline.

The file is validated first (`envgrid.domain.sla.calendar_data.load_year_file`: dates in its year, no day both a
holiday and a workday, make-up workdays on weekends; errors name the file and the entry); then one
CalendarPublished record goes to EVERY partition of `internal.calendar`, so each partition's case desk
re-times the open deadlines that live there. Publishing the same version again re-times nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from envgrid.connectors import records
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.connectors.settings import ClusterSettingsError, running_cluster
from envgrid.domain.config_errors import ConfigError
from envgrid.domain.sla.calendar_change import Publication
from envgrid.domain.sla.calendar_data import load_year_file


def publish(path: Path, producer: Producer, codec: EventCodec, catalogue: Catalogue,
            published_at: datetime) -> tuple[Publication, int]:
    """Validate `path` and send its schedule to every partition of the calendar topic; (publication, copies)."""
    if published_at.tzinfo is None:
        raise ValueError(f"publication time {published_at.isoformat()} has no timezone")
    publication = Publication(load_year_file(path), published_at)
    topic = catalogue.topic("internal.calendar")
    record = records.calendar_record(publication)
    value = codec.encode("CalendarPublished", record, topic)
    partitions = catalogue.spec(topic).partitions
    for partition in range(partitions):
        producer.produce(topic, value, publication.version.id.encode(), partition=partition)
    if producer.flush(60) != 0:
        raise RuntimeError(f"{topic}: not every copy of {publication.version.id} was acknowledged within 60 s")
    return publication, partitions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.calendar", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("publish", help="validate a year file and put it in force in the pipeline")
    command.add_argument("file", type=Path, help="a year file, e.g. src/envgrid/config/calendar/<year>.yaml")
    command.add_argument("--at", type=datetime.fromisoformat, default=None,
                         help="publication instant, ISO with timezone (default: now); replays and tests pass their own")
    command.add_argument("--prefix", default=None, help="topic prefix (default $ENVGRID_TOPIC_PREFIX or envgrid)")
    args = parser.parse_args(argv)
    try:
        load_year_file(args.file)  # refuse a bad file before touching the cluster
        addresses = running_cluster()
        catalogue = Catalogue.load(prefix=args.prefix)
        codec = EventCodec(registry_client(addresses), catalogue.event_type_of, auto_register=True)
        producer = Producer(addresses.kafka_config({"enable.idempotence": True}))
        publication, copies = publish(args.file, producer, codec, catalogue, args.at or datetime.now(UTC))
    except ClusterSettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    version = publication.version
    print(f"published {version.id} ({version.status}, {len(version.holidays)} holidays, {len(version.workdays)} make-up "
          f"workdays) to {copies} partitions of {catalogue.topic('internal.calendar')}, in force from "
          f"{publication.published_at.isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
