"""The case desk's scheduled tasks (`envgrid.domain.tasks`): 双随机 draws and quarterly supervision, opened as cases.

A task is a case with a deterministic id, so it is opened where its notices will go: in the partition of
internal.case-commands its id hashes to (the pipeline's partitioner, murmur2 as the Java client and aiokafka
hash). Both inputs reach every partition: a draw is published once per partition of internal.spot-check-draws,
and each tick goes to every partition of internal.sla-ticks; each partition opens the tasks that hash to it,
and the ones already open are left alone. So a redelivered draw answers with what it sent, and a replay of the
same ticks or draws opens nothing twice.

The supervision clock: each partition keeps the time of a tick in the quarter of its previous tick
(`<partition>:supervision-clock` in the cursors table; which tick of that quarter does not change what the next
step raises, so it is written only when the quarter changes, not once per tick) and asks the domain which
quarters' tasks the step to this tick raises. When a tick's output budget runs out first, the clock stays where
it was, and the next tick asks again (the tasks already opened are skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import murmur2

from envgrid.connectors import task_records
from envgrid.domain.effective import NoVersionInForce
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.tasks import spotcheck
from envgrid.domain.tasks.quarters import Quarter
from envgrid.domain.tasks.supervision import SupervisionRules, supervision_tasks
from envgrid.streams.routing_service import Output, Refused

if TYPE_CHECKING:
    from envgrid.streams.case_service import CaseService, CaseState, Handled

Owner = Callable[[str], int | None]  # the partition a case id lives in; None when one desk holds them all


def partition_owner(partitions: int) -> Owner:
    """The partition of internal.case-commands a key goes to, as the pipeline's producers hash it."""
    def owner(case_id: str) -> int:
        return (int(murmur2(case_id.encode("utf-8"))) & 0x7FFFFFFF) % partitions
    return owner


class TaskDesk:
    def __init__(self, registry: RegistrySet, supervision: SupervisionRules, owner: Owner) -> None:
        self.registry, self.supervision, self.owner = registry, supervision, owner

    def on_draw(self, service: CaseService, record: dict[str, Any], state: CaseState, partition: int,
                handled: Handled) -> None:
        """Open this partition's task cases of a SpotCheckDrawn; partition 0's copy also relays the draw to the
        drawing grid's topic, where the grid and the public read it."""
        try:
            drawn, drawn_at = task_records.draw_of(record)
            openings = spotcheck.task_openings(drawn, self.registry, drawn_at)
            grid_topic = service.out.topics.topic_for(("grid", drawn.grid_code))  # a grid without one: refused
        except (KeyError, ValueError, NoVersionInForce) as error:
            handled.refused = Refused("VALIDATE", "invalid_draw", type(error).__name__,
                                      f"draw {record.get('event_id')}: {error}", record.get("event_id"))
            return
        if partition == 0:
            handled.outputs.append(Output(grid_topic, drawn.draw_id, "SpotCheckDrawn", record))
        for opening in openings:
            if self._here(opening.case_id, partition):
                existing = state.files.get(opening.case_id)
                if existing is not None:
                    handled.replay(existing.recall(state.cursors, opening.cause_event_id))  # a redelivered draw
                    handled.replayed = True
                else:
                    service.open_task(opening, state, partition, handled)

    def raise_supervision(self, service: CaseService, now: datetime, state: CaseState, partition: int,
                          handled: Handled, budget: int) -> None:
        """Open the supervision tasks a step of the clock to `now` raises in this partition (within `budget`
        records sent by the tick)."""
        key = f"{partition}:supervision-clock"
        stored = state.cursors.get(key)
        previous = datetime.fromisoformat(stored) if isinstance(stored, str) else None
        if previous is not None and now <= previous:
            return
        for task in supervision_tasks(previous, now, self.registry, self.supervision):
            opening = task.opening
            if not self._here(opening.case_id, partition) or opening.case_id in state.files:
                continue
            if len(handled.sent) >= budget:
                return  # the clock stays: the next tick raises the rest
            service.open_task(opening, state, partition, handled)
        if previous is None or Quarter.of(now) != Quarter.of(previous):
            state.cursors[key] = now.isoformat()

    def _here(self, case_id: str, partition: int) -> bool:
        owner = self.owner(case_id)
        return owner is None or owner == partition
