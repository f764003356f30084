"""OutputEncoder (issue 10): the bytes of every output the router and the case desk send, as the codec encodes
them one by one, with the parts the dispatch copies of one case share encoded once."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from hypothesis import given, settings
from hypothesis import strategies as st

from envgrid.connectors import record_parts, records
from envgrid.connectors.samples import sample_events
from envgrid.connectors.serde import EventCodec, EventEncodingError
from envgrid.connectors.wire import HEADER, MAGIC_BYTE
from envgrid.domain.case_ids import case_id_for
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.app import Runtime
from envgrid.streams.composition import routing_service
from envgrid.streams.output_encoder import OutputEncoder
from envgrid.streams.routing_service import Intake, Output
from tests.unit.pipeline.harness import CATALOGUE, COMMANDS, IDENTITY, TEST_PSEUDONYMISER, InMemoryPipeline

CODEC = EventCodec(MockSchemaRegistryClient({"url": "mock://output-encoder"}), CATALOGUE.event_type_of)
COMPLAINT = sample_events()["PetitionComplaint"]  # lead housing, assisting urban-mgmt and epb: 4 copies and a command


def _pipeline() -> InMemoryPipeline:
    return InMemoryPipeline(routing=routing_service(CATALOGUE, CODEC.decode, TEST_PSEUDONYMISER))


def _report(pipeline: InMemoryPipeline, event_name: str, value: dict[str, Any]) -> Any:
    topic = CATALOGUE.intake(event_name)
    return pipeline.report(CODEC.encode(event_name, value, topic), topic)


def _one_by_one(outputs: list[Output]) -> list[bytes]:
    return [CODEC.encode(o.event_name, o.value, o.topic) for o in outputs]


def _opened() -> Intake:
    intake = _report(_pipeline(), "PetitionComplaint", COMPLAINT)
    assert isinstance(intake, Intake) and not intake.merged
    return intake


@settings(max_examples=50)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 30), anonymous=st.floats(0, 1),
       address_only=st.floats(0, 0.5), coordinates_only=st.floats(0, 0.5), cross_district=st.floats(0, 1),
       key_entity=st.floats(0, 1), suspected_crime=st.floats(0, 1), duplicates=st.floats(0, 0.5))
def test_every_reports_outputs_encode_to_the_bytes_of_the_codec_one_by_one(
        seed, count, anonymous, address_only, coordinates_only, cross_district, key_entity, suspected_crime, duplicates):
    """Generated reports through the real router, opened, merged and redelivered: the bytes of each report's
    outputs, encoded together, equal the per-record encode (and each copy's headers are its own)."""
    config = GeneratorConfig(
        kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.3, "DepartmentNotice": 0.0}, broken_share=0.0,
        anonymous_share=anonymous, address_only_share=address_only, coordinates_only_share=coordinates_only,
        cross_district_share=cross_district, key_entity_share=key_entity, suspected_crime_share=suspected_crime,
        duplicate_share=duplicates)
    pipeline, encoder = _pipeline(), OutputEncoder(CODEC)
    for event in generate(seed, count, config):
        intake = _report(pipeline, event.kind, event.value)
        if not isinstance(intake, Intake):
            continue
        batches = [intake.outputs]
        if event.truth.event_id.endswith(("0", "5")):  # some redelivered: the same outputs again
            topic = CATALOGUE.intake(event.kind)
            located = pipeline.routing.locate(CODEC.encode(event.kind, event.value, topic), topic)
            batches.append(pipeline.routing.open_or_merge(located, pipeline.indexes[located.incidents_key]).outputs)
        for outputs in batches:
            assert encoder.encode_all(outputs) == _one_by_one(outputs)
            for output in outputs:
                if output.event_name == "CaseDispatched" and output.topic != COMMANDS:
                    assert output.headers == records.dispatch_headers(output.value)


def test_the_case_desks_outputs_encode_like_the_codec_too():
    """Handover copies (revision > 0, a handover, the decision as it stands), lifecycle events, feedback."""
    config = GeneratorConfig(kind_shares={"PetitionComplaint": 0.45, "PatrolReport": 0.15, "DepartmentNotice": 0.4},
                             broken_share=0.0)
    pipeline, encoder = _pipeline(), OutputEncoder(CODEC)
    kinds: Counter[str] = Counter()
    for event in generate(5, 400, config):
        if event.kind != "DepartmentNotice":
            _report(pipeline, event.kind, event.value)
            continue
        outputs = pipeline.notice(event.value).outputs
        kinds.update("handover" if o.value.get("handover") else o.event_name for o in outputs)
        assert encoder.encode_all(outputs) == _one_by_one(outputs)
    assert kinds["handover"] >= 10 and kinds["CaseLifecycleEvent"] and kinds["CaseFeedback"], kinds


def test_each_copy_carries_its_own_target_id_and_contact():
    """Would fail if the first copy's target (or id, or contact) were reused for the others."""
    intake = _opened()
    copies = [o for o in intake.outputs if o.event_name == "CaseDispatched"]
    decoded = [CODEC.decode(data, o.topic)[1] for o, data in zip(copies, OutputEncoder(CODEC).encode_all(copies),
                                                                strict=True)]
    targets = [(d["target"]["kind"], d["target"]["code"], d["target"]["role"]) for d in decoded[:-1]]
    assert targets == [("DEPARTMENT", "housing", "LEAD"), ("DEPARTMENT", "urban-mgmt", "ASSISTING"),
                       ("DEPARTMENT", "epb", "ASSISTING"), ("GRID", "330302", "OWNING_GRID")]
    case_id = case_id_for(COMPLAINT["event_id"])
    assert [d["event_id"] for d in decoded] == [f"{case_id}:r0:department:housing", f"{case_id}:r0:department:urban-mgmt",
                                                f"{case_id}:r0:department:epb", f"{case_id}:r0:grid:330302",
                                                f"{case_id}:open"]
    contact = decoded[-1]["complainant_contact"]
    assert contact and [d["complainant_contact"] for d in decoded] == [contact, None, None, None, contact]
    assert all(d == {**o.value, "handover": None} for d, o in zip(decoded, copies, strict=True))


def test_the_parts_the_copies_share_are_encoded_once_per_batch(monkeypatch):
    """Would fail if the router's copies stopped sharing their values, or the encoder stopped reusing parts."""
    written: Counter[tuple[str, ...]] = Counter()
    encode = record_parts.Part.encode

    def counting(part: record_parts.Part, value: dict[str, Any]) -> bytes:
        written[part.fields] += 1
        return encode(part, value)

    monkeypatch.setattr(record_parts.Part, "encode", counting)
    intake = _opened()
    encoder = OutputEncoder(CODEC)
    assert encoder.encode_all(intake.outputs) == _one_by_one(intake.outputs)
    by_first_field = {fields[0]: count for fields, count in written.items()}
    assert by_first_field == {"event_id": 5, "case_id": 1, "complainant_contact": 5, "decision": 1}
    encoder.encode_all(intake.outputs)
    assert written[("decision", "handover")] == 2  # reused within a batch only: a later batch writes again


def test_a_value_changed_in_place_between_batches_is_encoded_as_it_is_now():
    intake = _opened()
    encoder = OutputEncoder(CODEC)
    before = encoder.encode_all(intake.outputs)
    intake.outputs[1].value["location"]["address"] = "温州市鹿城区五马街道 1 号"  # shared by every copy
    after = encoder.encode_all(intake.outputs)
    assert after == _one_by_one(intake.outputs) and after != before


def test_the_header_is_the_codecs_schema_id_of_each_event_type():
    intake = _opened()
    for output, data in zip(intake.outputs, OutputEncoder(CODEC).encode_all(intake.outputs), strict=True):
        assert data[:5] == HEADER.pack(MAGIC_BYTE, CODEC.schema_id(output.event_name))
    assert {o.topic for o in intake.outputs} >= {IDENTITY, COMMANDS}


def _fails_alike(outputs: list[Output]) -> str:
    with pytest.raises(EventEncodingError) as one_by_one:
        _one_by_one(outputs)
    with pytest.raises(EventEncodingError) as together:
        OutputEncoder(CODEC).encode_all(outputs)
    assert str(together.value) == str(one_by_one.value)
    return str(together.value)


def test_an_output_that_does_not_fit_fails_as_the_codec_fails():
    copy = next(o for o in _opened().outputs if o.topic.endswith(".dept.epb.cases"))
    bad_target = Output(copy.topic, copy.key, copy.event_name, dict(copy.value, target={**copy.value["target"],
                                                                                         "role": "BOSS"}))
    assert "BOSS" in _fails_alike([copy, bad_target])
    assert "has no timezone" in _fails_alike(
        [copy, Output(copy.topic, copy.key, copy.event_name, dict(copy.value, occurred_at=copy.value["occurred_at"]
                                                                   .replace(tzinfo=None)))])
    assert "carries CaseDispatched events, not CaseFeedback" in _fails_alike(
        [Output(copy.topic, copy.key, "CaseFeedback", sample_events()["CaseFeedback"])])
    missing = {k: v for k, v in copy.value.items() if k != "category"}
    _fails_alike([copy, Output(copy.topic, copy.key, copy.event_name, missing)])


def test_a_field_left_out_that_has_a_default_is_written_as_its_default():
    copy = next(o for o in _opened().outputs if o.event_name == "CaseDispatched")
    assert "handover" not in copy.value
    without = {k: v for k, v in copy.value.items() if k != "complainant_token"}
    outputs = [copy, Output(copy.topic, copy.key, copy.event_name, without)]
    assert OutputEncoder(CODEC).encode_all(outputs) == _one_by_one(outputs)


def test_the_faust_path_sends_each_output_with_its_encoded_bytes_and_headers():
    sent: list[tuple[Any, ...]] = []

    class Producer:
        async def send(self, *record: Any) -> None:
            sent.append(record)

    class App:
        producer = Producer()

    runtime = Runtime(SimpleNamespace(app_id="test"), App(), CATALOGUE, CODEC, TEST_PSEUDONYMISER)
    intake = _opened()
    asyncio.run(runtime.send_all(intake.outputs))
    assert sent == [(o.topic, o.key.encode(), data, None, None, list(o.headers) or None)
                    for o, data in zip(intake.outputs, _one_by_one(intake.outputs), strict=True)]
