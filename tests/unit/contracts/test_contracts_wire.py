"""Fast path vs confluent's serializer, and every undecodable case, with an in-memory registry."""

from __future__ import annotations

import json
import struct

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from envgrid.connectors.contracts import EVENT_TYPES, load_event
from envgrid.connectors.samples import sample_events
from envgrid.connectors.serde import (
    EventCodec,
    EventEncodingError,
    UndecodableRecord,
    avro_deserializer,
    avro_serializer,
)
from envgrid.connectors.wire import HEADER_SIZE, frame, read_body, split_frame

TOPIC = "envgrid.case.feedback"


@pytest.fixture
def client() -> MockSchemaRegistryClient:
    return MockSchemaRegistryClient({"url": "mock://contracts"})


def _ctx(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_fast_path_bytes_equal_confluent_serializer_bytes(client, event_name: str) -> None:
    value = sample_events()[event_name]
    confluent_bytes = avro_serializer(client, event_name)(value, _ctx("t"))
    codec = EventCodec(client)
    assert codec.encode(event_name, value, "t") == confluent_bytes
    assert codec.decode(confluent_bytes, "t") == (event_name, value)
    assert avro_deserializer(client)(codec.encode(event_name, value, "t"), _ctx("t")) == value


def test_confluent_subject_is_the_record_full_name(client) -> None:
    avro_serializer(client, "SlaEvent")(sample_events()["SlaEvent"], _ctx("envgrid.case.sla"))
    assert client.get_subjects() == ["cn.gov.wenzhou.envgrid.SlaEvent"]


def test_wrong_magic_byte(client) -> None:
    data = b"\x01" + EventCodec(client).encode("CaseFeedback", sample_events()["CaseFeedback"], TOPIC)[1:]
    with pytest.raises(UndecodableRecord) as error:
        EventCodec(client).decode(data, TOPIC)
    assert error.value.reason == "not_confluent_framed" and TOPIC in str(error.value) and "0x01" in str(error.value)


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x01", b'{"event_id": "x"}', None])
def test_garbage_and_short_values_are_not_framed(client, data) -> None:
    with pytest.raises(UndecodableRecord) as error:
        EventCodec(client).decode(data, TOPIC)
    assert error.value.reason == "not_confluent_framed"


def test_unknown_schema_id(client) -> None:
    with pytest.raises(UndecodableRecord) as error:
        EventCodec(client).decode(struct.pack(">bI", 0, 4242) + b"\x02", TOPIC)
    assert error.value.reason == "unknown_schema_id" and error.value.schema_id == 4242 and "4242" in str(error.value)


@pytest.mark.parametrize("cut", [1, 10, 40])
def test_truncated_payload_with_valid_schema_id(client, cut: int) -> None:
    codec = EventCodec(client)
    data = codec.encode("CaseFeedback", sample_events()["CaseFeedback"], TOPIC)
    with pytest.raises(UndecodableRecord) as error:
        codec.decode(data[:-cut], TOPIC)
    assert error.value.reason == "avro_decode_error" and "schema id" in str(error.value)


def test_trailing_bytes_are_a_decode_error(client) -> None:
    codec = EventCodec(client)
    data = codec.encode("CaseFeedback", sample_events()["CaseFeedback"], TOPIC)
    with pytest.raises(UndecodableRecord, match="2 bytes left over") as error:
        codec.decode(data + b"\x00\x00", TOPIC)
    assert error.value.reason == "avro_decode_error"


def test_record_of_another_event_type_on_a_topic(client) -> None:
    topic_events = {TOPIC: "CaseFeedback", "envgrid.case.sla": "SlaEvent"}.get
    codec = EventCodec(client, topic_events)
    sla_bytes = codec.encode("SlaEvent", sample_events()["SlaEvent"], "envgrid.case.sla")
    with pytest.raises(UndecodableRecord) as error:
        codec.decode(sla_bytes, TOPIC)
    assert error.value.reason == "wrong_event_type" and "carries CaseFeedback events but" in str(error.value)
    with pytest.raises(EventEncodingError, match="carries SlaEvent events, not CaseFeedback"):
        codec.encode("CaseFeedback", sample_events()["CaseFeedback"], "envgrid.case.sla")


def test_schema_that_is_not_an_envgrid_event(client) -> None:
    foreign = '{"type":"record","name":"Order","namespace":"com.shop","fields":[{"name":"id","type":"string"}]}'
    schema_id = client.register_schema("com.shop.Order", Schema(foreign, "AVRO"))
    with pytest.raises(UndecodableRecord) as error:
        EventCodec(client).decode(struct.pack(">bI", 0, schema_id) + b"\x02a", TOPIC)
    assert error.value.reason == "wrong_event_type" and "com.shop.Order" in str(error.value)


def test_older_writer_schema_is_read_into_the_current_shape(client) -> None:
    old = load_event("CaseFeedback").fresh_schema()
    old["fields"] = [f for f in old["fields"] if f["name"] != "channel"]  # pretend v0 had no channel
    old_id = client.register_schema("cn.gov.wenzhou.envgrid.CaseFeedback", Schema(json.dumps(old), "AVRO"))
    value = sample_events()["CaseFeedback"]
    del value["channel"]
    data = frame(old_id, {**old}, value)
    event_name, decoded = EventCodec(client).decode(data, TOPIC)
    assert event_name == "CaseFeedback" and decoded == {**value, "channel": "OTHER"}


def test_value_that_does_not_fit_names_the_field(client) -> None:
    value = sample_events()["SlaEvent"]
    value["fraction"] = "eighty percent"
    with pytest.raises(EventEncodingError, match=r"SlaEvent value for envgrid.case.sla does not fit .*SlaEvent\.fraction is <eighty percent>"):
        EventCodec(client).encode("SlaEvent", value, "envgrid.case.sla")


def test_pure_frame_helpers_round_trip() -> None:
    contract = load_event("CaseLifecycleEvent")
    value = sample_events()["CaseLifecycleEvent"]
    schema_id, body = split_frame(frame(7, contract.parsed, value), "t")
    assert schema_id == 7 and len(body) > HEADER_SIZE
    assert read_body(body, contract.parsed, None, topic="t", schema_id=7) == value


def test_naive_datetimes_are_refused(client) -> None:
    value = sample_events()["SlaEvent"]
    value["deadline"] = value["deadline"].replace(tzinfo=None)
    with pytest.raises(EventEncodingError, match="deadline=2024-05-14T01:30:00 has no timezone"):
        EventCodec(client).encode("SlaEvent", value, "envgrid.case.sla")


def test_decoded_times_are_aware_utc(client) -> None:
    codec = EventCodec(client)
    value = sample_events()["PatrolReport"]
    _, decoded = codec.decode(codec.encode("PatrolReport", value, "t"), "t")
    assert decoded["occurred_at"].utcoffset().total_seconds() == 0 and decoded["occurred_at"] == value["occurred_at"]


def test_a_decode_error_names_no_object_address_so_a_re_sent_dead_letter_is_identical(client) -> None:
    codec = EventCodec(client)
    data = codec.encode("PatrolReport", sample_events()["PatrolReport"], TOPIC)
    messages = []
    for cut in range(1, len(data) - HEADER_SIZE):
        with pytest.raises(UndecodableRecord) as error:
            codec.decode(data[:-cut], TOPIC)
        messages.append(str(error.value))
    assert any("BytesIO" in message for message in messages)  # fastavro does name its stream
    assert not [message for message in messages if " at 0x" in message]
