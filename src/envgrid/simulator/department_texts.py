"""What simulated departments and grids write in their notices: plausible Chinese texts per notice kind.

Kept apart from `envgrid.simulator.departments` so that the behaviour reads without the phrase book.
"""

from __future__ import annotations

import random

from envgrid.simulator.rand import pick

ACKNOWLEDGE = ("已签收，安排执法人员现场核查", "已受理，正在派员赶赴现场", "已签收，转属地中队办理", "已签收")
PROGRESS = (
    "已到现场核查，情况基本属实，已责令当事人立即整改",
    "已约谈相关责任人，下达限期整改通知书",
    "正在调查取证，已采样送检",
    "已联系反映人了解详细情况，正在核实",
    "整改进行中，已安排专人跟踪督办",
)
LATE_PROGRESS = ("当事人整改进度缓慢，正在持续督促", "检测报告尚未出具，等待第三方检测结果")
TRANSFER_MESSAGE = ("经核查，该事项不属于本单位职责，申请移交", "经现场核实，建议改派相关职能部门办理")
TRANSFER_REASONS = (
    "该事项不属于本部门法定职责范围",
    "经核查属{dept}监管职责，建议移交",
    "事发场所的监管主体为{dept}",
    "依据职责分工，应由{dept}牵头处理",
)
ESCALATION_MESSAGE = ("本级处置困难，申请上级网格协调", "申请提级处理")
ESCALATION_REASONS = (
    "涉及跨区域污染，本级无法协调",
    "当事人拒不配合整改，本级缺乏执法手段",
    "问题反复发生，需上级网格统筹解决",
    "涉及多个乡镇街道，需上级协调处置",
)
COORDINATE_MESSAGE = ("经网格协调，确定牵头部门，组织相关部门联合执法", "网格统筹处置，召集相关部门联合查处")
JOINT_MESSAGE = ("涉及多部门职责，申请联合执法", "需相关部门联合查处，申请开展联合执法行动")
ORDER_MESSAGE = ("企业拒不停产整改，依法实施停电停水", "下达停产整治决定书")
ORDERS = ("停电停水", "停产整治", "查封扣押排污设备")
EXTENSION_MESSAGE = ("案情复杂，申请延期办理",)
EXTENSION_REASONS = ("需第三方检测机构出具检测报告", "整改工程量大，需延长整改期限", "涉及历史遗留问题，需多方协调")
EXTENSION_GRANTED = ("经审核，同意延期",)
EXTENSION_REFUSED = ("经审核，不同意延期，请按期办结",)
RESOLUTIONS = (
    "已责令停止违法行为并依法立案处罚",
    "已督促落实覆盖、洒水等防尘措施，现场复查无异常",
    "已清理现场垃圾并恢复原状，反映人表示认可",
    "已查封排污设施，依法立案查处",
    "经监测各项指标达标，已向反映人解释说明",
    "当事人已整改到位，经复查符合要求",
)
TASK_RESOLUTIONS = ("已按分工完成现场配合执法", "已完成职责范围内的查处工作", "已出具检测意见并移交牵头部门")
CLOSE = ("已办结，回访反映人表示满意", "经复核办结，归档", "已办结")


def text(rng: random.Random, pool: tuple[str, ...], dept: str = "") -> str:
    """One text of `pool`, with `{dept}` filled in."""
    return pick(rng, pool).format(dept=dept or "相关部门")
