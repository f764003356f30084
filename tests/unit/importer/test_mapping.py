"""The column-mapping file: the shipped example loads, and a wrong file says which key is wrong."""

from __future__ import annotations

import pytest

from envgrid.connectors.importer.mapping import load_mapping
from envgrid.domain.config_errors import ConfigError
from tests.unit.importer.importkit import HEADER, example_mapping, write_mapping


def test_the_example_maps_a_12345_export():
    mapping = example_mapping()
    assert mapping.source_system == "wenzhou-12345"
    assert set(mapping.columns()) <= set(HEADER)
    assert mapping.record_number == "工单编号" and mapping.occurred_at == "来电时间"
    assert mapping.description == ("诉求标题", "诉求内容")
    assert mapping.category.values["工地扬尘"] == "construction_dust"
    assert mapping.channel.values["12369环保热线"] == "HOTLINE_12369" and mapping.channel.default == "HOTLINE_12345"
    assert str(mapping.timezone) == "Asia/Shanghai"


MINIMAL = """
source_system: test
columns:
  occurred_at: t
  description: text
  address: where
  category: {column: kind, values: {扬尘: construction_dust}}
"""


def test_a_minimal_mapping_takes_defaults(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path, MINIMAL))
    assert mapping.columns() == ["t", "text", "kind", "where"]
    assert mapping.received_at is None and mapping.channel.column is None and mapping.datum == "WGS84"


@pytest.mark.parametrize(("change", "key"), [
    (("扬尘: construction_dust", "扬尘: dust_storm"), "columns.category.values.扬尘"),
    (("  occurred_at: t\n", ""), "occurred_at"),
    (("  address: where\n", ""), "columns.address"),
    (("  address: where\n", "  address: where\n  phone: p\n"), "columns.phone"),
    (("source_system: test", "source_system: test\ntimezone: Mars/Olympus"), "timezone"),
    (("source_system: test", "source_system: test\ndatum: ED50"), "datum"),
])
def test_a_wrong_mapping_names_the_file_and_the_key(tmp_path, change, key):
    path = write_mapping(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(ConfigError) as raised:
        load_mapping(path)
    assert raised.value.path == str(path) and raised.value.entry == key
