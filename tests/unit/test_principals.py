"""config/principals.yaml: the one list of Kafka principals, expanded over departments and grids."""

from __future__ import annotations

import pytest

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.principals import KINDS, load_principals
from envgrid.domain.config_errors import ConfigError
from envgrid.domain.departments import department_codes


def test_every_department_and_every_grid_with_a_topic_has_a_principal():
    principals = load_principals()
    catalogue = Catalogue.load(env={})
    grids = [spec.name.removeprefix(f"{catalogue.prefix}.grid.").removesuffix(".cases")
             for spec in catalogue.by_template("grid.{grid}.cases")]
    assert [p.name for p in principals.of_kind("department")] == [f"dept-{code}" for code in department_codes()]
    assert [p.name for p in principals.of_kind("grid")] == [f"grid-{code}" for code in grids]
    assert len(department_codes()) == 15
    for name in ("pipeline", "intake-gateway", "feedback-gateway", "auditor", "ops", "admin"):
        assert principals[name].purpose
    assert principals.only("super-user").name == "admin" and principals.only("pipeline").name == "pipeline"
    assert principals["dept-epb"].kafka_principal == "User:dept-epb"
    assert {p.kind for p in principals} == set(KINDS)


@pytest.mark.parametrize("body, says", [
    ("principals:\n  - {name: admin, kind: super-user, purpose: sets things up}\n"
     "  - {name: p, kind: pipeline, purpose: runs the pipeline}\n  - {name: p, kind: ops, purpose: operates things}\n",
     "principals[2] (p): p also comes from p"),
    ("principals:\n  - {name: admin, kind: super-user, purpose: sets things up}\n"
     "  - {name: x, kind: gateway, purpose: opens the gates}\n", "needs exactly one principal of kind pipeline"),
    ("principals:\n  - {name: admin, kind: wizard, purpose: sets things up}\n"
     "  - {name: p, kind: pipeline, purpose: runs the pipeline}\n", "principals[0]"),
    ("principals:\n  - {name: 'a b', kind: super-user, purpose: sets things up}\n"
     "  - {name: p, kind: pipeline, purpose: runs the pipeline}\n", "must be 1-64 letters"),
    ("principals:\n  - {name: 'z-{zone}', kind: super-user, purpose: sets things up}\n"
     "  - {name: p, kind: pipeline, purpose: runs the pipeline}\n", "one of {department}, {grid}"),
])
def test_a_bad_principals_file_names_the_entry(tmp_path, body, says):
    path = tmp_path / "principals.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as error:
        load_principals(path, departments=("epb",), grids=("330302",))
    assert str(path) in str(error.value) and says in str(error.value)
