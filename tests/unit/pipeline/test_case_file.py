"""The case file stays small (issue 10): its dossier and what its latest inputs sent are kept beside it
(`envgrid.streams.case_file`), so the value written on every input of a case does not grow with what the case
sent; a redelivered input is still answered as the first time, within the last SENT_REMEMBERED inputs; a file an
earlier release wrote, with both inside, keeps answering and moves them out at its next change; and a dossier
lost in a crash comes back with the opening command sent again."""

from __future__ import annotations

from typing import Any

from envgrid.connectors import records
from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.streams.case_file import SENT_REMEMBERED
from envgrid.streams.state_codec import decode_state, encode_state
from tests.integration.changelog_fixture import LEAD, SCENARIO_NOTICES, A, load_facts, notice
from tests.unit.pipeline.harness import COMMANDS, TEST_PSEUDONYMISER, InMemoryPipeline
from tests.unit.pipeline.recorded_traffic import StoredTable
from tests.unit.pipeline.test_changelog_fixture import _latest

SAMPLE = sample_events()["PetitionComplaint"]  # lead housing, assisting urban-mgmt and epb, township 330302031
FIXTURE_TABLES = ("case-files", "sla-timers", "sla-buckets", "sla-cursors", "refused-notices", "held-notices")


def _opened(pipeline: InMemoryPipeline) -> tuple[str, Any, dict[str, Any]]:
    """A case opened in a fresh pipeline: its id, its opening command and its complaint."""
    complaint = dict(SAMPLE, event_id="00000000-0000-4000-c000-000000000001")
    intake = pipeline.report(("PetitionComplaint", complaint))
    return case_id_for(complaint["event_id"]), next(o for o in intake.outputs if o.topic == COMMANDS), complaint


def _progress(complaint: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return [notice(complaint, 20 + minutes, "PROGRESS", LEAD, message=f"step {minutes}") for minutes in range(count)]


def test_the_file_written_on_every_input_does_not_grow_with_what_the_case_sent():
    pipeline = InMemoryPipeline()
    case_id, _, complaint = _opened(pipeline)
    pipeline.notice(notice(complaint, 10, "ACKNOWLEDGE", LEAD))
    sizes = []
    for value in _progress(complaint, 20):
        assert pipeline.notice(value).outputs  # each sends its history entry
        sizes.append(len(encode_state(pipeline.state.files[case_id])))
    # the notice's id in the case's recent ones and in the inputs remembered, not the ~470 bytes it sent
    assert (sizes[-1] - sizes[3]) / 16 < 120
    assert pipeline.state.files[case_id].dossier == {} and pipeline.state.files[case_id].sent == {}


def test_a_redelivered_input_is_answered_again_within_the_last_inputs_remembered():
    pipeline = InMemoryPipeline()
    case_id, _, complaint = _opened(pipeline)
    pipeline.notice(notice(complaint, 10, "ACKNOWLEDGE", LEAD))
    notices = _progress(complaint, SENT_REMEMBERED + 4)
    first = [pipeline.notice(value).outputs for value in notices]
    forgotten, remembered = notices[:4], notices[4:]
    for value in forgotten:
        again = pipeline.cases.on_notice(value, pipeline.state, 0)
        assert again.replayed and not again.outputs
    for value, outputs in zip(remembered, first[4:], strict=True):
        again = pipeline.cases.on_notice(value, pipeline.state, 0)
        assert again.replayed and again.outputs == outputs
    kept = [key for key in pipeline.state.cursors if key.startswith(f"{case_id}|sent|")]
    assert len(kept) == SENT_REMEMBERED == len(pipeline.state.files[case_id].remembered)


def test_a_file_an_earlier_release_wrote_keeps_answering_and_moves_its_dossier_and_outputs_out():
    case_a = load_facts()["cases"]["A"]
    pipeline = InMemoryPipeline()
    tables = dict(zip(FIXTURE_TABLES, (pipeline.state.files, pipeline.state.timers, pipeline.state.buckets,
                                       pipeline.state.cursors, pipeline.state.refused, pipeline.state.held), strict=True))
    for (table, key), value in _latest().items():
        if table in tables:
            tables[table][key] = decode_state(encode_state(value))
    old = pipeline.state.files[case_a]
    acknowledge = SCENARIO_NOTICES[0]
    assert old.dossier and acknowledge["event_id"] in old.sent  # as that release kept them
    dossier, acknowledged, size = old.dossier, old.sent[acknowledge["event_id"]], len(encode_state(old))

    assert pipeline.cases.on_notice(acknowledge, pipeline.state, 0).outputs == acknowledged  # redelivered
    progress = pipeline.notice(notice(A, 30, "PROGRESS", LEAD))
    assert progress.refused is None and progress.outputs
    moved = pipeline.state.files[case_a]
    assert moved.dossier == {} and moved.sent == {}
    assert moved.dossier_in(pipeline.state.cursors) == records.withheld_dossier(dossier, TEST_PSEUDONYMISER)
    assert pipeline.cases.on_notice(acknowledge, pipeline.state, 0).outputs == acknowledged
    assert len(encode_state(moved)) < size / 2


def test_a_dossier_lost_in_a_crash_comes_back_with_the_opening_command_sent_again():
    pipeline = InMemoryPipeline()
    case_id, command, complaint = _opened(pipeline)
    opened = [o for o in pipeline.sent if o.topic.startswith("envgrid.case.")]  # what the case desk sent
    dossier = pipeline.state.files[case_id].dossier_in(pipeline.state.cursors)
    del pipeline.state.cursors[f"{case_id}|dossier"]  # the file's changelog record got through, the dossier's not

    again = pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)
    assert again.replayed and again.refused is None and again.outputs == opened
    assert pipeline.state.files[case_id].dossier_in(pipeline.state.cursors) == dossier
    transfer = pipeline.notice(notice(complaint, 10, "TRANSFER_REQUEST", LEAD, reason="不属本部门职责", suggest="water"))
    assert transfer.refused is None and any(o.topic.endswith(".dept.water.cases") for o in transfer.outputs)


def test_a_command_that_changes_no_clock_writes_no_timer():
    pipeline = InMemoryPipeline()
    pipeline.state.timers = timers = StoredTable()
    case_id, _, complaint = _opened(pipeline)
    pipeline.notice(notice(complaint, 10, "ACKNOWLEDGE", LEAD))
    before = timers.writes
    resolved = pipeline.notice(notice(complaint, 60, "RESULT", LEAD, message="done"))
    # the result stops every clock; acknowledging stopped two of them already
    assert [o.value["kind"] for o in resolved.outputs if o.event_name == "CaseLifecycleEvent"] == ["resolved"]
    assert timers.writes - before == 1
