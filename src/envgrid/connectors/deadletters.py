"""`python -m envgrid.connectors.deadletters list|reinject`: look at dead letters, and put them back after a fix.

Re-injection produces each selected dead letter's original bytes, key and headers to its source topic
again, with the header `envgrid-reinjections` counting how often that happened (the pipeline copies it
into the next dead letter, so a record that keeps failing is visible as such). The dead-letter topic is
never changed: it stays the audit record of what failed and why.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.connectors.settings import ClusterAddresses, ClusterSettingsError, running_cluster

REINJECTION_HEADER = "envgrid-reinjections"


@dataclass(frozen=True)
class Selection:
    reason: str | None = None  # reason_code to pick, e.g. unknown_category
    stage: str | None = None  # DECODE | VALIDATE | ROUTE | APPLY
    source_topic: str | None = None
    max_reinjections: int = 3  # leave records alone that already came back this often

    def picks(self, letter: dict[str, Any]) -> bool:
        return bool((self.reason is None or letter["reason_code"] == self.reason)
                and (self.stage is None or letter["stage"] == self.stage.upper())
                and (self.source_topic is None or letter["source_topic"] == self.source_topic)
                and letter["reinjections"] < self.max_reinjections)


def read_dead_letters(
    cluster: ClusterAddresses, codec: EventCodec, topic: str, timeout: float = 30.0
) -> Iterator[dict[str, Any]]:
    """Every dead letter from the beginning up to the topic's current end."""
    consumer = Consumer(cluster.kafka_config({"group.id": f"deadletters-{time.time_ns()}",
                                              "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {partition: high for (_topic, partition), (low, high)
                in LogEnds(cluster.kafka_config()).of([(topic, p) for p in partitions], timeout=10).items()
                if high > low}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=1.0):
                if message.error():
                    continue
                yield codec.decode(message.value(), topic)[1]
                offset, partition = message.offset(), message.partition()
                assert offset is not None and partition is not None  # a consumed record without error has both
                if offset + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
    finally:
        consumer.close()


def reinject(
    producer: Producer, letters: Iterator[dict[str, Any]], selection: Selection, dry_run: bool = False
) -> Counter[str]:
    """Produce the selected letters' originals back to their source topics; counts by source topic."""
    counts: Counter[str] = Counter()
    for letter in letters:
        if not selection.picks(letter):
            continue
        if _truncated(letter):
            counts["not re-injected: only a prefix of the original was kept"] += 1
            continue
        counts[letter["source_topic"]] += 1
        if dry_run:
            continue
        headers = [(h["key"], h["value"]) for h in letter["original_headers"] if h["key"] != REINJECTION_HEADER]
        headers.append((REINJECTION_HEADER, str(letter["reinjections"] + 1).encode()))
        producer.produce(letter["source_topic"], letter["original_value"], letter["source_key"], headers=headers)
        producer.poll(0)
    producer.flush()
    return counts


def _truncated(letter: dict[str, Any]) -> bool:
    """A letter of an oversized record keeps only a prefix: re-injecting it would send something else."""
    size, kept = letter.get("original_size"), letter.get("original_value")
    return size is not None and kept is not None and size > len(kept)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        addresses = running_cluster()
    except ClusterSettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    catalogue = Catalogue.load(prefix=args.prefix)
    codec = EventCodec(registry_client(addresses), catalogue.event_type_of, auto_register=False)
    letters = read_dead_letters(addresses, codec, catalogue.topic("deadletter"))
    selection = Selection(args.reason, args.stage, args.source_topic, args.max_reinjections)
    if args.command == "list":
        kinds = Counter((letter["stage"], letter["reason_code"], letter["source_topic"]) for letter in letters if selection.picks(letter))
        for (stage, reason, source), n in sorted(kinds.items()):
            print(f"{n:>8}  {stage:<9} {reason:<28} {source}")
        return 0
    producer = Producer(addresses.kafka_config({"enable.idempotence": True, "partitioner": "murmur2_random"}))
    counts = reinject(producer, letters, selection, dry_run=args.dry_run)
    verb = "would re-inject" if args.dry_run else "re-injected"
    for source, n in sorted(counts.items()):
        print(f"{verb} {n} to {source}")
    print(f"{verb} {sum(counts.values())} dead letters")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.deadletters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["list", "reinject"])
    parser.add_argument("--reason", help="only this reason code (e.g. unknown_category)")
    parser.add_argument("--stage", help="only this stage (DECODE, VALIDATE, ROUTE, APPLY)")
    parser.add_argument("--source-topic", help="only dead letters from this topic")
    parser.add_argument("--max-reinjections", type=int, default=3, help="skip records re-injected this often")
    parser.add_argument("--prefix", default=None, help="topic prefix (default $ENVGRID_TOPIC_PREFIX or envgrid)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be re-injected, send nothing")
    return parser


if __name__ == "__main__":
    sys.exit(main())
