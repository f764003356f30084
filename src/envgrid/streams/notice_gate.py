"""The notice gate: a notice is admitted only from its own unit's topic.

Departments and grids write notices on their own topics (`notices.dept.<code>`, `notices.grid.<code>`), each
writable only by that unit's principal, so the topic a notice came in on names who logged in. The gate
decodes the notice (size limit first), checks it against the input contract (so a broken notice keeps its
own reason), and checks that its unit is the topic's owner (`envgrid.domain.intake_contract.check_author`); the pipeline then re-keys it by case id
for the case desk. A notice claiming another unit is refused as `forged_unit` and reaches no case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envgrid.domain.intake_contract import NoticeAuthor, check_author, check_notice
from envgrid.streams.routing_service import Refused, contract_refusal, decode_intake

Decode = Callable[[Any, str], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class AdmittedNotice:
    case_id: str
    record: dict[str, Any]


class NoticeGate:
    def __init__(self, decode: Decode, author_of: Callable[[str], NoticeAuthor]) -> None:
        self._decode = decode
        self._author_of = author_of

    def admit(self, value: Any, topic: str) -> AdmittedNotice | Refused:
        decoded = decode_intake(self._decode, value, topic)
        if isinstance(decoded, Refused):
            return decoded
        event_name, record = decoded
        if event_name != "DepartmentNotice":
            return Refused("VALIDATE", "wrong_event_type", "WrongEventType",
                           f"a {event_name} on the notice topic {topic}; notices only", record.get("event_id"))
        breach = check_notice(record) or check_author(record, self._author_of(topic))
        if breach is not None:
            return contract_refusal("VALIDATE", breach, record.get("event_id") or None)
        return AdmittedNotice(record["case_id"], record)
