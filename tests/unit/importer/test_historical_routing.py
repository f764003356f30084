"""An imported record is routed with the grid registry in force at its own time (its occurred_at): a 2018
complaint in 龙港 goes to 苍南县 (330327), of which 龙港镇 was a town until the 2019-09-25 split; the same
complaint from 2023 goes to 龙港市 (330383). Through the in-memory router (tests/unit/pipeline/harness.py)."""

from __future__ import annotations

import pytest

from envgrid.connectors.importer.convert import Complaint, Converter
from tests.unit.importer.importkit import GOOD, HEADER, example_mapping
from tests.unit.pipeline.harness import InMemoryPipeline


@pytest.mark.parametrize(("called", "grid", "registry"), [
    ("2018-06-01 10:00:00", "330327", "wenzhou-2016"),
    ("2023-06-01 10:00:00", "330383", "wenzhou-2019"),
])
def test_an_imported_longgang_complaint_goes_to_the_grid_of_its_time(called, grid, registry):
    row = dict(zip(HEADER, GOOD, strict=True)) | {"来电时间": called, "登记时间": "", "事发地址": "温州市龙港市江口社区"}
    complaint = Converter(example_mapping()).convert(1, row)
    assert isinstance(complaint, Complaint)

    intake = InMemoryPipeline().report(("PetitionComplaint", complaint.value))

    dispatched = [o for o in intake.outputs if o.event_name == "CaseDispatched"]
    decision = dispatched[0].value["decision"]
    assert decision["registry_version"] == registry
    assert [g["code"] for g in decision["grid_chain"] if g["level"] == 2] == [grid]
    assert f"envgrid.grid.{grid}.cases" in {o.topic for o in dispatched}
