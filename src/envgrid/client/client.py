"""The department client on Kafka: one principal logged in, its topics, its open cases, its answers.

    client = DepartmentClient.from_properties("var/credentials/dept-epb.properties")   # or DepartmentClient(addresses)
    client.login()                                   # fails fast: wrong password, no broker, no registry, no ACLs
    client.open_cases()                              # [OpenCase(...)] from its topic and its notices, read to the end
    for copy in client.watch():                      # its own consumer group, committed after each copy is handled
        ...
    client.acknowledge("WZ-…", "已签收")              # checked (envgrid.client.notices), sent, delivery awaited
    client.transfer("WZ-…", to="housing", reason="施工扬尘属住建部门")

Its unit comes from the principal (config/principals.yaml: `dept-epb` is the department epb, `grid-330302` the
grid 330302 and the grids under it), its topics from the catalogue (prefix: `topic_prefix`, else
$ENVGRID_TOPIC_PREFIX): it reads `dept.<code>.cases` (a grid `grid.<code>.cases`) and its notice topic, and writes
its notice topic only. Its consumer groups must start with the principal's group prefix (`dept-epb`); the
default is `<prefix>-desk`. The schema registry is only read (schemas are looked up, never registered).

`send(notice, check=True)` is what every answer goes through: it checks the notice as the pipeline's notice gate
would (kind, input contract, a unit the principal speaks for), sends it keyed by case id to the unit's own
notice topic, and waits for the broker's acknowledgement. `check=False` skips that check, and exists only so
that the demo's department simulator can send the deliberately wrong notices with which it exercises the
pipeline's own refusals (`forged_unit`); a department's system never needs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from envgrid.client.book import CaseBook, OpenCase
from envgrid.client.errors import BrokerRefused, Reason, Refused
from envgrid.client.login import addresses_for, unit_principal
from envgrid.client.notices import AnswerDesk, check_record
from envgrid.client.watch import CopyWatcher, ErrorLog, authentication_failed, not_authorised, read_ranges
from envgrid.connectors.catalogue import Catalogue, CatalogueError
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.principals import Principals, load_principals
from envgrid.connectors.serde import EventCodec, EventEncodingError, registry_client
from envgrid.domain.departments import department_codes
from envgrid.localcluster.addresses import ClusterAddresses

KAFKA_LOG = logging.getLogger("envgrid.client.librdkafka")


@dataclass(frozen=True)
class Delivery:
    """A notice the broker acknowledged."""

    event_id: str
    kind: str
    case_id: str
    unit: str
    topic: str
    partition: int
    offset: int

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "kind": self.kind, "case_id": self.case_id, "unit": self.unit,
                "topic": self.topic, "partition": self.partition, "offset": self.offset}


class DepartmentClient:
    def __init__(self, addresses: ClusterAddresses, *, principal: str | None = None, topic_prefix: str | None = None,
                 catalogue: Catalogue | None = None, principals: Principals | None = None,
                 departments: Sequence[str] | None = None, timeout: float = 10.0,
                 settings: Mapping[str, Any] | None = None) -> None:
        """`principal`: the principal to act as, default the SASL user (an unauthenticated cluster needs it)."""
        self.addresses = addresses
        self.principal = unit_principal(principal or addresses.security.username, principals or load_principals())
        assert self.principal.binding is not None  # unit_principal checked it
        kind, code = self.principal.binding
        self.catalogue = catalogue or Catalogue.load(prefix=topic_prefix)
        try:
            self.cases_topic = self.catalogue.topic_for((kind, code))
            self.notice_topic = self.catalogue.notice_topic(kind, code)
        except CatalogueError as error:
            raise Refused(Reason.NOT_A_UNIT, f"{self.principal.name}: {error}") from None
        self.author = self.catalogue.notice_author(self.notice_topic)
        groups = self.principal.grants.groups
        self.group_prefix = groups.format(**{kind: code}) if groups else None
        self.departments = tuple(departments) if departments is not None else department_codes()
        self.timeout = timeout
        self._settings = dict(settings or {})
        self.codec = EventCodec(registry_client(addresses), self.catalogue.event_type_of, auto_register=False)
        self._errors = ErrorLog()
        self._producer: Producer | None = None
        self._book: CaseBook | None = None
        self._ends: LogEnds | None = None

    @classmethod
    def from_properties(cls, path: Path | str | None, *, env: Mapping[str, str] | None = None,
                        **options: Any) -> DepartmentClient:
        """Logged in with a credentials file (a client properties file, as `var/credentials/<principal>.properties`
        of the local cluster); see `addresses_for`."""
        return cls(addresses_for(path, env), **options)

    @property
    def unit(self) -> tuple[str, str]:
        """(unit kind, code) as notices name it: ("DEPARTMENT", "epb"), ("GRID", "330302")."""
        return self.author.unit_kind, self.author.code

    # --- logging in -----------------------------------------------------------------------------------

    def login(self) -> DepartmentClient:
        """Check, before anything else, that the broker lets this principal in and shows it its two topics, and
        that the registry answers it; BrokerRefused naming what to fix otherwise."""
        producer = self._producer_client()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                producer.list_topics(timeout=1.0)
                break
            except KafkaException as error:
                producer.poll(0)  # serves the error callback
                if self._errors.fatal is not None:
                    self._producer = None  # a login refused: no client keeps trying it
                    self._errors.raise_fatal()
                if time.monotonic() > deadline:
                    self._producer = None
                    last = self._errors.last or error.args[0]
                    raise BrokerRefused(Reason.UNREACHABLE, f"cannot reach the broker at "
                                                            f"{self.addresses.bootstrap_servers}: {last.str()}") from None
        for topic in (self.cases_topic, self.notice_topic):
            metadata = producer.list_topics(topic, timeout=self.timeout).topics.get(topic)
            refusal = metadata.error if metadata is not None else None
            if metadata is None or refusal is not None and refusal.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise BrokerRefused(Reason.NOT_AUTHORISED, f"topic {topic} does not exist on "
                                                           f"{self.addresses.bootstrap_servers}: check the topic prefix "
                                                           f"({self.catalogue.prefix!r}, --topic-prefix)")
            if refusal is not None:
                raise BrokerRefused(Reason.NOT_AUTHORISED, not_authorised(refusal, topic))
        self._schema_lookup()
        return self

    # --- reading --------------------------------------------------------------------------------------

    def book(self, *, refresh: bool = False) -> CaseBook:
        """The unit's case book, read from its cases topic and notice topic from the beginning to their ends
        now (once; again with `refresh`)."""
        if self._book is None or refresh:
            book = CaseBook(self.author)
            # assigned, not subscribed: the group (librdkafka needs one) is never joined, nothing is committed
            consumer = Consumer(self._config({"group.id": f"{self.group_prefix or self.principal.name}-reader",
                                              "enable.auto.commit": False, "error_cb": self._errors}))
            try:
                for topic in (self.cases_topic, self.notice_topic):
                    ranges = self._ranges(consumer, topic)
                    event = "CaseDispatched" if topic == self.cases_topic else "DepartmentNotice"
                    for record in read_ranges(consumer, topic, ranges, self.codec.decode, self.timeout, event):
                        book.add(event, record)
            except KafkaException as error:
                self._errors.raise_fatal()
                raise BrokerRefused(Reason.UNREACHABLE, f"cannot read {self.cases_topic}: {error.args[0].str()}") from None
            finally:
                consumer.close()
            self._book = book
        return self._book

    def open_cases(self) -> list[OpenCase]:
        """The unit's open cases, read fresh."""
        return self.book(refresh=True).open_cases()

    def show(self, case_id: str) -> OpenCase:
        """One open case, read fresh; Refused when the unit has no copy of it or it is not open."""
        return self.book(refresh=True).case(case_id)

    def watcher(self, group: str | None = None, settings: Mapping[str, Any] | None = None) -> CopyWatcher:
        """A consumer of the unit's topic in its group (default `<group prefix>-desk`), for `poll`/`done`/`commit`;
        `settings`: librdkafka consumer settings of its own."""
        return CopyWatcher(self._config(settings), self.cases_topic, self.group(group), self.codec.decode,
                           timeout=self.timeout)

    def watch(self, *, group: str | None = None, idle: float | None = None) -> Iterator[dict[str, Any]]:
        """Every new copy on the unit's topic, in its group: a copy is committed once the caller asks for the
        next one (its handling returned). Stops after `idle` seconds without a new copy (None: never)."""
        watcher = self.watcher(group)
        last = time.monotonic()
        try:
            while idle is None or time.monotonic() - last < idle:
                for copy in watcher.poll(timeout=0.5):
                    if self._book is not None:
                        self._book.add_copy(copy.record)
                    yield copy.record
                    watcher.done(copy)
                    last = time.monotonic()
                watcher.commit()
        finally:
            watcher.close()

    def group(self, group: str | None = None) -> str:
        """The consumer group to watch in: `group`, which must start with the principal's prefix, or the default."""
        prefix = self.group_prefix
        if prefix is None:
            raise Refused(Reason.GROUP_NOT_ALLOWED, f"{self.principal.name} may use no consumer group "
                                                    f"(config/principals.yaml grants none)")
        if group is None:
            return f"{prefix}-desk"
        if not group.startswith(prefix):
            raise Refused(Reason.GROUP_NOT_ALLOWED, f"consumer group {group!r}: {self.principal.name} may use only "
                                                    f"groups whose name starts with {prefix!r}, e.g. {prefix}-desk")
        return group

    # --- answering ------------------------------------------------------------------------------------

    def acknowledge(self, case_id: str, message: str = "", *, unit: str | None = None,
                    at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).acknowledge(case_id, message, at=_now(at), unit=unit))

    def progress(self, case_id: str, message: str, *, unit: str | None = None, at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).progress(case_id, message, at=_now(at), unit=unit))

    def transfer(self, case_id: str, to: str | None, reason: str, *, message: str = "",
                 at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).transfer(case_id, to, reason, message=message, at=_now(at)))

    def request_escalation(self, case_id: str, reason: str, *, message: str = "", unit: str | None = None,
                           at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).escalate(case_id, reason, message=message, at=_now(at), unit=unit))

    def request_joint_enforcement(self, case_id: str, departments: Sequence[str], *, lead: str | None = None,
                                  message: str = "", unit: str | None = None, at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).joint(case_id, departments, lead=lead, message=message, at=_now(at),
                                                   unit=unit))

    def result(self, case_id: str, resolution: str, *, message: str = "", unit: str | None = None,
               at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).result(case_id, resolution, message=message, at=_now(at), unit=unit))

    def request_extension(self, case_id: str, days: int, reason: str, *, message: str = "", unit: str | None = None,
                          at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).extension(case_id, days, reason, message=message, at=_now(at), unit=unit))

    def close_case(self, case_id: str, message: str = "", *, unit: str | None = None,
                   at: datetime | None = None) -> Delivery:
        return self.send(self._desk(case_id).close(case_id, message, at=_now(at), unit=unit))

    def send(self, notice: dict[str, Any], *, check: bool = True) -> Delivery:
        """Send one complete DepartmentNotice to the unit's notice topic and wait for the broker's
        acknowledgement. `check=False`: only for the demo's simulator (see the module's doc)."""
        return self.send_all([notice], check=check)[0]

    def send_all(self, notices: Sequence[dict[str, Any]], *, check: bool = True) -> list[Delivery]:
        """`send` for several notices, acknowledged together (in order per case)."""
        if check:
            for notice in notices:
                check_record(notice, self.author)
        producer = self._producer_client()
        outcomes: list[Delivery | KafkaError] = []
        for notice in notices:
            try:
                value = self.codec.encode("DepartmentNotice", notice, self.notice_topic)
            except EventEncodingError as error:
                raise Refused(Reason.INPUT_CONTRACT, f"notice {notice.get('event_id')}: {error}") from None
            except SchemaRegistryError as error:
                raise BrokerRefused(Reason.REGISTRY, _registry_refused(error, self.principal.name)) from None
            except Exception as error:  # noqa: BLE001 - the registry's HTTP client: unreachable, timed out
                raise BrokerRefused(Reason.REGISTRY, f"the schema registry at {self.addresses.schema_registry_url} "
                                                     f"did not answer: {error}") from None
            producer.produce(self.notice_topic, value, notice["case_id"].encode(),
                             on_delivery=_collect(outcomes, notice))
        left = producer.flush(self.timeout * 3)
        self._errors.raise_fatal()
        failures = [outcome for outcome in outcomes if isinstance(outcome, KafkaError)]
        if left or failures:
            raise self._delivery_failed(failures, left, len(notices))
        deliveries = [outcome for outcome in outcomes if isinstance(outcome, Delivery)]
        if self._book is not None:
            for notice in notices:
                self._book.add_notice(notice)
        return deliveries

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self.timeout)
            self._producer = None

    def __enter__(self) -> DepartmentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers --------------------------------------------------------------------------------------

    def _desk(self, case_id: str) -> AnswerDesk:
        book = self.book()
        if not book.knows(case_id):  # a copy that came after the book was read
            book = self.book(refresh=True)
        return AnswerDesk(book, self.departments)

    def _config(self, client: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # librdkafka's own log goes to a Python logger (a command keeps stderr to its one line); what matters
        # (a refused login, no broker) comes through the error callback as a BrokerRefused
        return self.addresses.kafka_config({"logger": KAFKA_LOG, **self._settings, **(client or {})})

    def _producer_client(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self._config({
                "acks": "all", "partitioner": "murmur2_random",  # keys hashed as the Java client does
                "message.timeout.ms": int(self.timeout * 3000), "error_cb": self._errors}))
        return self._producer

    def _ranges(self, consumer: Consumer, topic: str) -> dict[int, tuple[int, int]]:
        metadata = consumer.list_topics(topic, timeout=self.timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise BrokerRefused(Reason.NOT_AUTHORISED, not_authorised(metadata.error, topic) if metadata and metadata.error
                                else f"topic {topic} is not there; check the topic prefix")
        ends = self._log_ends().of([(topic, partition) for partition in metadata.partitions], self.timeout)
        return {partition: (low, high) for (_topic, partition), (low, high) in ends.items() if high > low}

    def _log_ends(self) -> LogEnds:
        """Never the consumer's watermark query: it aborted the process while a node was down (librdkafka#5160)."""
        if self._ends is None:
            self._ends = LogEnds(self._config({"error_cb": self._errors}))
        return self._ends

    def _schema_lookup(self) -> None:
        try:
            self.codec.schema_id("DepartmentNotice")
        except SchemaRegistryError as error:
            raise BrokerRefused(Reason.REGISTRY, _registry_refused(error, self.principal.name)) from None
        except Exception as error:  # noqa: BLE001 - the registry's HTTP client: unreachable, timed out
            raise BrokerRefused(Reason.REGISTRY, f"cannot reach the schema registry at "
                                                 f"{self.addresses.schema_registry_url}: {error}") from None

    def _delivery_failed(self, failures: list[KafkaError], left: int, count: int) -> BrokerRefused:
        delivered = count - len(failures) - left
        if any(f.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for f in failures):
            error = next(f for f in failures if f.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED)
            return BrokerRefused(Reason.NOT_AUTHORISED, f"{not_authorised(error, self.notice_topic)} "
                                                        f"({delivered} of {count} notices delivered)")
        if failures and failures[0].code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            return BrokerRefused(Reason.AUTHENTICATION, authentication_failed(failures[0]))
        why = failures[0].str() if failures else f"no acknowledgement within {self.timeout * 3:.0f} s"
        return BrokerRefused(Reason.DELIVERY, f"{count - delivered} of {count} notices to {self.notice_topic} not "
                                              f"delivered: {why}; send them again (same event ids: the pipeline drops "
                                              f"a notice it already applied)")


def _collect(outcomes: list[Delivery | KafkaError], notice: dict[str, Any]) -> Callable[[KafkaError | None, Message], None]:
    """The delivery callback of one notice: its Delivery, or the broker's error, appended to `outcomes`."""
    def delivered(error: KafkaError | None, message: Message) -> None:
        outcomes.append(error if error is not None else Delivery(
            notice["event_id"], notice["kind"], notice["case_id"], notice["unit_code"], message.topic() or "",
            message.partition() or 0, message.offset() or 0))
    return delivered


def _registry_refused(error: SchemaRegistryError, principal: str) -> str:
    if error.http_status_code in (401, 403):
        return (f"the schema registry refused {principal} (HTTP {error.http_status_code}): check basic.auth.user.info "
                f"in the credentials file")
    if error.http_status_code == 404:
        return "the DepartmentNotice schema is not registered in the registry yet: the pipeline registers the schemas"
    return f"the schema registry answered HTTP {error.http_status_code}: {error}"


def _now(at: datetime | None) -> datetime:
    return at if at is not None else datetime.now(UTC)
