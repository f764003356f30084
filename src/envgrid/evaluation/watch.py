"""`python -m envgrid.evaluation watch`: the streaming evaluation as a process of its own. It reads
case.history and case.sla from the beginning as the `auditor` (a group of its own, nothing committed: the
ledger is rebuilt on start), folds every record (`EvaluationStream`) and exports the gauges on its metrics
endpoint every few seconds. One process sees every partition, so its gauges are the whole city's; a worker,
which owns a share of the partitions, could not export them.
"""
from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Any

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.sources import AUDITOR, TOPICS, local_auditor_file
from envgrid.evaluation.stream import EvaluationStream
from envgrid.streams.metrics import serve_metrics

log = logging.getLogger("envgrid.evaluation")


def watch(config_file: Path | None, prefix: str | None, port: int, every: float = 10.0,
          stop_after: float | None = None) -> int:
    from confluent_kafka import Consumer

    from envgrid.client.login import addresses_for
    from envgrid.connectors.catalogue import Catalogue
    from envgrid.connectors.serde import EventCodec, registry_client

    cluster = addresses_for(config_file if config_file is not None else local_auditor_file())
    catalogue = Catalogue.load(prefix=prefix) if prefix is not None else Catalogue.load()
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of, auto_register=False)
    topics = [catalogue.topic(name) for name in TOPICS]
    consumer = Consumer(cluster.kafka_config({"group.id": f"{AUDITOR}-evaluation-watch-{time.time_ns()}",
                                              "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    stream = EvaluationStream(WorkTime())
    stopping: list[bool] = []

    def _stop(_signum: int, _frame: Any) -> None:
        stopping.append(True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    served = serve_metrics(port)
    log.warning("evaluation: reading %s, gauges on port %d", ", ".join(topics), served)
    consumer.subscribe(topics)
    started = exported = time.monotonic()
    try:
        while not stopping and (stop_after is None or time.monotonic() - started < stop_after):
            for message in consumer.consume(500, timeout=1.0):
                if message.error():
                    log.warning("evaluation: %s", message.error())
                    continue
                topic = message.topic()
                assert topic is not None
                stream.on_record(codec.decode(message.value(), topic)[1])
            if time.monotonic() - exported >= every:
                stream.export()
                exported = time.monotonic()
        stream.export()
    finally:
        consumer.close()
    return served
