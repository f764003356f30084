"""Which errors mean "a dependency is down" (wait and retry) rather than "this record is bad" (dead-letter).

An outage of the schema registry or the broker is not the record's fault: a worker that dead-lettered
every record it met during a registry restart would throw away valid input. The agents retry those with
backoff (`envgrid.streams.agents`), and only what is left — a fault of the record or a bug — is dead-lettered.
"""

from __future__ import annotations

from enum import StrEnum

from aiokafka.errors import KafkaError as AioKafkaError
from confluent_kafka import KafkaException
from confluent_kafka.schema_registry.common._httpx_compat import httpx  # httpx2 or httpx, as the client uses
from confluent_kafka.schema_registry.error import SchemaRegistryError

OUTAGE_BACKOFF_S = (0.5, 30.0)  # first and longest wait between tries of a record while a dependency is down


class Dependency(StrEnum):
    SCHEMA_REGISTRY = "schema_registry"
    BROKER = "broker"
    NETWORK = "network"


def outage_of(error: BaseException) -> Dependency | None:
    """The dependency whose outage caused `error` (looking through its causes), or None for anything else."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _direct(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _direct(error: BaseException) -> Dependency | None:
    if isinstance(error, httpx.TransportError):
        return Dependency.SCHEMA_REGISTRY  # connection refused or reset, DNS, timeouts
    if isinstance(error, SchemaRegistryError):
        status = error.http_status_code
        return Dependency.SCHEMA_REGISTRY if status is None or status < 0 or status >= 500 or status == 429 else None
    if isinstance(error, AioKafkaError):
        return Dependency.BROKER if error.retriable or "Connection" in type(error).__name__ or \
            "Timeout" in type(error).__name__ else None
    if isinstance(error, KafkaException):
        kafka_error = error.args[0] if error.args else None
        retriable = getattr(kafka_error, "retriable", lambda: False)()
        return Dependency.BROKER if retriable else None
    if isinstance(error, (ConnectionError, TimeoutError)):
        return Dependency.NETWORK
    return None
