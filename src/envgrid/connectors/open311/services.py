"""Open311 services (服务类别) and their definitions, from the event categories (config/rules/categories.yaml).

A service is a category: `service_code` is the category code, the name is Chinese with the English after it.
Groups follow the plan (section 五.四): what village grids stop on the spot (`patrol_level: 4`) and the rest.
Attributes are the PetitionComplaint fields beyond the GeoReport core that change routing
(config/rules/*.yaml `special_conditions`): the key supervised entity (重点环境监管对象, asked where an
enterprise can be involved, i.e. not for on-the-spot categories), a suspected crime (not asked when the category
is the crime itself), a cross-district incident, and the reporter's severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envgrid.domain.rules.categories import Category

CRIME_CATEGORY = "environmental_crime"  # its complaints are suspected crimes by definition
ON_THE_SPOT_GROUP = "村居网格当场制止 Stopped on the spot by village grids"
SUPERVISION_GROUP = "环境执法监管 Environmental enforcement"
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
_SEVERITY_NAMES = {"LOW": "轻微 Low", "MEDIUM": "一般 Medium", "HIGH": "较重 High", "CRITICAL": "严重 Critical"}
_YES_NO = ({"key": "true", "name": "是 Yes"}, {"key": "false", "name": "否 No"})


@dataclass(frozen=True)
class Attribute:
    """One attribute of a service definition (GeoReport v2 `attribute`)."""

    code: str
    datatype: str  # string | singlevaluelist
    description: str
    values: tuple[dict[str, str], ...] = ()

    def as_dict(self, order: int) -> dict[str, Any]:
        return {"variable": True, "code": self.code, "datatype": self.datatype, "required": False,
                "datatype_description": None, "order": order, "description": self.description,
                "values": list(self.values)}


KEY_ENTITY = Attribute("key_entity", "string",
                       "涉及的重点环境监管对象（企业名称或编号） Key supervised entity involved (name or id), if any")
SUSPECTED_CRIME = Attribute("suspected_crime", "singlevaluelist", "是否涉嫌环境犯罪 Suspected environmental crime?",
                            _YES_NO)
CROSS_DISTRICT = Attribute("cross_district", "singlevaluelist", "是否跨区域 Does it span more than one district?",
                           _YES_NO)
SEVERITY = Attribute("severity", "singlevaluelist", "严重程度 How serious is it?",
                     tuple({"key": s, "name": _SEVERITY_NAMES[s]} for s in SEVERITIES))


def service_list(categories: Sequence[Category]) -> list[dict[str, Any]]:
    """GET services: one entry per category, in file order."""
    return [{"service_code": c.code, "service_name": f"{c.name_zh} {c.name_en}",
             "description": f"{c.name_zh}（{c.name_en}）",
             "metadata": True, "type": "realtime", "keywords": ", ".join((c.code, c.name_zh, c.name_en)),
             "group": ON_THE_SPOT_GROUP if c.patrol_level == 4 else SUPERVISION_GROUP} for c in categories]


def attributes_of(category: Category) -> tuple[Attribute, ...]:
    """The attributes a complaint of `category` may carry (all optional)."""
    chosen = []
    if category.patrol_level != 4:
        chosen.append(KEY_ENTITY)
    if category.code != CRIME_CATEGORY:
        chosen.append(SUSPECTED_CRIME)
    return (*chosen, CROSS_DISTRICT, SEVERITY)


def service_definition(category: Category) -> dict[str, Any]:
    """GET services/{code}: the service definition."""
    return {"service_code": category.code,
            "attributes": [a.as_dict(order) for order, a in enumerate(attributes_of(category), start=1)]}
