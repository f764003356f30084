"""The checked-in changelog fixture: table records written by a real worker of this release.

`python -m tests.integration.changelog_fixture capture` runs SCENARIO through a real worker on the local
cluster (started if needed) and writes every record of the app's table changelog topics to
tests/fixtures/changelog/format-<FORMAT>/records.jsonl (table, partition, key and value, in offset order),
with facts.json: what the scenario left behind, for the recovery test to check against.

Capture once per state format; never re-capture a released format (the point is that a later release
still reads what this one wrote). tests/unit/pipeline/test_changelog_fixture.py decodes every record;
tests/integration/test_recovery_from_fixture.py starts a worker on them.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.streams.state_codec import FORMAT

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "changelog" / f"format-{FORMAT}"
RECORDS_FILE = FIXTURE_DIR / "records.jsonl"
FACTS_FILE = FIXTURE_DIR / "facts.json"
TABLES = ("incidents", "case-files", "sla-timers", "sla-buckets", "sla-cursors", "refused-notices", "held-notices")
LEAD, TOWNSHIP = "housing", "330302031"  # the sample complaint's routing: lead housing, township 330302031


@dataclass(frozen=True)
class Record:
    table: str
    partition: int
    key: bytes | None
    value: bytes | None

    def to_line(self) -> str:
        return json.dumps({"table": self.table, "partition": self.partition,
                           "key": None if self.key is None else base64.b64encode(self.key).decode(),
                           "value": None if self.value is None else self.value.decode("utf-8")},
                          ensure_ascii=False)

    @classmethod
    def from_line(cls, line: str) -> Record:
        data = json.loads(line)
        return cls(data["table"], data["partition"], None if data["key"] is None else base64.b64decode(data["key"]),
                   None if data["value"] is None else data["value"].encode("utf-8"))


def load_records() -> list[Record]:
    return [Record.from_line(line) for line in RECORDS_FILE.read_text(encoding="utf-8").splitlines() if line]


def load_facts() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(FACTS_FILE.read_text(encoding="utf-8"))
    return facts


def complaint(number: int, **changes: Any) -> dict[str, Any]:
    """The sample complaint, moved `number` * 30 days on (so no two merge), with its own id."""
    sample = sample_events()["PetitionComplaint"]
    shift = timedelta(days=30 * number)
    return dict(sample, event_id=f"00000000-0000-4000-f000-{number:012d}", occurred_at=sample["occurred_at"] + shift,
                received_at=sample["received_at"] + shift, **changes)


def notice(of: dict[str, Any], minutes: int, kind: str, unit: str, **fields: Any) -> dict[str, Any]:
    at = of["received_at"] + timedelta(minutes=minutes)
    return dict(sample_events()["DepartmentNotice"], event_id=f"{of['event_id'][-4:]}-{minutes}-{kind}",
                case_id=case_id_for(of["event_id"]), kind=kind, unit_code=unit,
                unit_kind="GRID" if unit[:1].isdigit() else "DEPARTMENT", occurred_at=at, received_at=at,
                reason=fields.pop("reason", None), suggested_department=fields.pop("suggest", None),
                assisting_departments=fields.pop("assisting", []), extension_days=fields.pop("extension", None),
                message=fields.pop("message", "ok"))


# The scenario: A acknowledged; B transferred from housing to water; C's notice held (its complaint is
# never sent while capturing); a notice from a unit that does not handle A, refused and remembered.
A, B, C = complaint(1), complaint(2), complaint(3)
SCENARIO_NOTICES = (
    notice(A, 10, "ACKNOWLEDGE", LEAD),
    notice(B, 10, "TRANSFER_REQUEST", LEAD, reason="不属本部门职责", suggest="water"),
    notice(A, 20, "ACKNOWLEDGE", "transport"),  # not a unit of case A: refused (and remembered)
    notice(C, 5, "ACKNOWLEDGE", LEAD),  # case C is not open: held
)


def capture(cluster: Any, app_id: str) -> tuple[list[Record], dict[str, Any]]:
    """Run the scenario through a real worker; every changelog record it wrote, and the facts to check."""
    from confluent_kafka import Producer

    from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

    catalogue, codec = prepare(cluster, app_id)
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    history, deadletters = catalogue.topic("case.history"), catalogue.topic("deadletter")

    def publish(event_name: str, value: dict[str, Any], key: str) -> None:
        topic = catalogue.input_topic(event_name, value)
        producer.produce(topic, codec.encode(event_name, value, topic), key.encode())
        assert producer.flush(30) == 0

    def history_of(case: dict[str, Any]) -> list[dict[str, Any]]:
        case_id = case_id_for(case["event_id"])
        return [v for _, _, v, _ in read_all(cluster, codec, [history]).get(history, []) if v["case_id"] == case_id]

    def kinds(case: dict[str, Any]) -> list[str]:
        return [v["kind"] for v in history_of(case)]

    with tempfile.TemporaryDirectory() as state:
        worker = WorkerProcess(cluster, app_id, Path(state)).start()

        def wait(predicate: Any, what: str) -> None:
            worker.wait_for(predicate, 180.0, what)

        try:
            send_ticks(producer, codec, catalogue, A["received_at"] - timedelta(hours=1))  # each partition's cursor
            for case in (A, B):
                publish("PetitionComplaint", case, case["event_id"])
            wait(lambda: "dispatched" in kinds(A) and "dispatched" in kinds(B), "cases A and B opened")
            for value in SCENARIO_NOTICES:
                publish("DepartmentNotice", value, value["case_id"])
            wait(lambda: "acknowledged" in kinds(A) and "rerouted" in kinds(B), "A acknowledged, B rerouted")
            wait(lambda: any(v["reason_code"] == "not_assigned"
                             for _, _, v, _ in read_all(cluster, codec, [deadletters]).get(deadletters, [])),
                 "the wrong unit's notice dead-lettered")
            wait(lambda: worker.metrics().get("envgrid_held_notices_total{outcome=held}", 0) >= 1, "C's notice held")
        finally:
            worker.stop()
    records = _read_changelogs(cluster, app_id)
    facts = {"app_id": app_id, "format": FORMAT, "captured_at": datetime.now().astimezone().isoformat(),
             "cases": {"A": case_id_for(A["event_id"]), "B": case_id_for(B["event_id"]), "C": case_id_for(C["event_id"])},
             "revisions": {name: max(v["revision"] for v in history_of(case)) for name, case in (("A", A), ("B", B))},
             "lead_after_transfer": "water", "refused_notice": SCENARIO_NOTICES[2]["event_id"],
             "held_notice": SCENARIO_NOTICES[3]["event_id"]}
    return records, facts


def _read_changelogs(cluster: Any, app_id: str) -> list[Record]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(cluster.kafka_config({"group.id": f"fixture-{time.time_ns()}",
                                              "enable.auto.commit": False}))
    records: list[Record] = []
    for table in TABLES:
        topic = f"{app_id}-{table}-changelog"
        for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            while True:
                message = consumer.poll(10)
                assert message is not None and not message.error(), f"reading {topic}[{partition}]"
                records.append(Record(table, partition, message.key(), message.value()))
                if message.offset() + 1 >= high:
                    break
    consumer.close()
    return records


def main(argv: list[str]) -> int:
    if argv[:1] != ["capture"]:
        print(__doc__)
        return 2
    from envgrid.connectors.settings import ensure_cluster

    records, facts = capture(ensure_cluster(), f"fixture-format-{FORMAT}-{int(time.time())}")
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    RECORDS_FILE.write_text("".join(record.to_line() + "\n" for record in records), encoding="utf-8")
    FACTS_FILE.write_text(json.dumps(facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(records)} records of {len({r.table for r in records})} tables in {RECORDS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
