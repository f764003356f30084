"""The client's set-up without a broker: who it acts as, its topics and groups, where it connects, and the
command's exit codes for what fails before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgrid.client import cli
from envgrid.client.client import DepartmentClient
from envgrid.client.errors import Reason, Refused
from envgrid.client.login import addresses_for
from envgrid.connectors.settings import ClusterSettingsError
from envgrid.localcluster.addresses import ClientSecurity, ClusterAddresses

NOWHERE = ClusterAddresses("127.0.0.1:1", "http://127.0.0.1:1/apis/ccompat/v7")


def _properties(tmp_path: Path, user: str, password: str = "secret") -> Path:
    path = tmp_path / f"{user}.properties"
    path.write_text(ClientSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", user, password,
                                   registry_user_info=f"{user}:{password}").properties())
    return path


def test_a_department_principal_is_its_unit_with_its_topics_and_group_prefix():
    client = DepartmentClient(NOWHERE, principal="dept-epb", topic_prefix="t")
    assert client.unit == ("DEPARTMENT", "epb")
    assert (client.cases_topic, client.notice_topic) == ("t.dept.epb.cases", "t.notices.dept.epb")
    assert client.group() == "dept-epb-desk" and client.group("dept-epb-nightly") == "dept-epb-nightly"
    with pytest.raises(Refused) as refused:
        client.group("dept-housing-desk")
    assert refused.value.reason is Reason.GROUP_NOT_ALLOWED and "starts with 'dept-epb'" in str(refused.value)


def test_a_grid_principal_speaks_for_the_grids_under_it_and_the_city_only_for_itself():
    grid = DepartmentClient(NOWHERE, principal="grid-330302", topic_prefix="t")
    assert grid.unit == ("GRID", "330302") and grid.cases_topic == "t.grid.330302.cases"
    assert grid.author.covers("330302003001") and grid.group() == "grid-330302-desk"
    city = DepartmentClient(NOWHERE, principal="grid-3303", topic_prefix="t")
    assert city.notice_topic == "t.notices.grid.3303" and not city.author.covers("330302")


@pytest.mark.parametrize("principal, why", [
    ("pipeline", "of kind pipeline): log in as a department"), ("auditor", "of kind auditor"),
    ("dept-nobody", "is not a principal of"), (None, "no principal to act as"),
])
def test_only_a_department_or_grid_principal_is_a_unit(principal, why):
    with pytest.raises(Refused) as refused:
        DepartmentClient(NOWHERE, principal=principal)
    assert refused.value.reason is Reason.NOT_A_UNIT and why in str(refused.value)


def test_the_principal_is_the_credentials_user(tmp_path):
    env = {"ENVGRID_BOOTSTRAP_SERVERS": "127.0.0.1:1", "ENVGRID_SCHEMA_REGISTRY_URL": "http://127.0.0.1:1",
           "ENVGRID_KAFKA_CONFIG": str(_properties(tmp_path, "pipeline")), "ENVGRID_KAFKA_SASL_USERNAME": "pipeline"}
    addresses = addresses_for(_properties(tmp_path, "dept-water"), env)  # the file given wins over the environment
    assert addresses.security.username == "dept-water" and addresses.bootstrap_servers == "127.0.0.1:1"
    assert addresses.security.registry_user_info == "dept-water:secret"
    assert DepartmentClient(addresses, topic_prefix="t").unit == ("DEPARTMENT", "water")


def test_without_a_cluster_it_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("ENVGRID_VAR_DIR", str(tmp_path / "var"))  # no local cluster recorded here
    with pytest.raises(ClusterSettingsError, match="No cluster configured"):
        addresses_for(_properties(tmp_path, "dept-epb"), {})
    with pytest.raises(ClusterSettingsError, match="ENVGRID_SCHEMA_REGISTRY_URL"):
        addresses_for(None, {"ENVGRID_BOOTSTRAP_SERVERS": "127.0.0.1:1"})


def test_the_command_exits_2_for_what_it_knows_before_connecting(tmp_path, monkeypatch, capsys):
    for name in ("ENVGRID_BOOTSTRAP_SERVERS", "ENVGRID_SCHEMA_REGISTRY_URL", "ENVGRID_KAFKA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVGRID_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("ENVGRID_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    assert cli.main(["--config", str(_properties(tmp_path, "pipeline")), "cases"]) == 2
    assert "log in as a department (dept-<code>) or a grid" in capsys.readouterr().err
    assert cli.main(["--config", str(tmp_path / "missing.properties"), "cases"]) == 2
    err = capsys.readouterr().err
    assert "cannot read it" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as usage:
        cli.main(["--config", "x", "extend", "WZ-1", "--days", "three", "--reason", "r"])
    assert usage.value.code == 2


def test_the_command_exits_1_when_the_broker_cannot_be_reached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENVGRID_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("ENVGRID_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    code = cli.main(["--config", str(_properties(tmp_path, "dept-epb")), "--timeout", "1", "cases"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the broker at 127.0.0.1:1" in err and err.count("\n") == 1, err
