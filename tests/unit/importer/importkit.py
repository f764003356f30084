"""Shared helpers of the importer's unit tests: the example mapping, rows in the 12345 layout, a fake producer."""

from __future__ import annotations

from pathlib import Path

from envgrid import paths
from envgrid.connectors.importer.mapping import Mapping, load_mapping

EXAMPLE_MAPPING = paths.CONFIG_DIR / "import" / "wenzhou-12345.yaml"
HEADER = ("工单编号", "来电时间", "登记时间", "来源渠道", "诉求类型", "诉求标题", "诉求内容", "事发地址", "来电人",
          "联系电话", "紧急程度")
GOOD = ("WZ2018060100000001", "2018-06-01 10:00:00", "2018-06-01 10:05:00", "12369环保热线", "工地扬尘", "工地扬尘",
        "工地夜间施工扬尘很大", "温州市鹿城区五马街道解放街12号", "王芳", "13812345678", "紧急")
BAD_TIME = ("WZ2018060100000002", "2018年13月45日", "", "12345热线", "餐饮油烟", "", "油烟扰民",
            "温州市鹿城区五马街道", "", "", "一般")
UNLISTED = ("WZ2018060100000003", "2018-06-02 09:00:00", "", "", "其他环境问题", "", "不知道算什么",
            "温州市瓯海区", "", "", "")


def example_mapping() -> Mapping:
    return load_mapping(EXAMPLE_MAPPING)


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class FakeProducer:
    """Records produced values; delivery reports are served by `poll`/`flush` for rows `acknowledge` allows
    (all by default), so a test can stop acknowledging, as a broker that stops answering or a process killed."""

    def __init__(self, acknowledge=lambda index: True, fail=lambda index: False) -> None:
        self.produced: list[tuple[str, bytes, bytes]] = []
        self._waiting: list = []
        self._acknowledge, self._fail = acknowledge, fail

    def produce(self, topic, value, key, on_delivery):
        self.produced.append((topic, key, value))
        self._waiting.append((len(self.produced) - 1, on_delivery))

    def poll(self, timeout=0):
        self._serve()
        return 0

    def flush(self, timeout=0):
        self._serve()
        return len(self._waiting)

    def _serve(self) -> None:
        keep = []
        for index, callback in reversed(self._waiting):  # out of order, as partitions answer independently
            if self._fail(index):
                callback("TOPIC_AUTHORIZATION_FAILED", _Message(self.produced[index][0]))
            elif self._acknowledge(index):
                callback(None, None)
            else:
                keep.append((index, callback))
        self._waiting = keep


class _Message:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic
