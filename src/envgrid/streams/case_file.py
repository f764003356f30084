"""A case file: the case, and beside it what the case keeps but rarely reads: its dossier and what its latest
inputs sent.

The file is written on every input of its case (and, in the worker's store, read and written again), so it
holds only what changes. Two things stay beside it, each a table value of its own in the table of the
per-partition cursors (`memory`), written once:
- the dossier (`<case id>|dossier`): the case's first dispatch record, on which the copies for units that gain or
  lose a role are built, without the complainant's identity (`records.withheld_dossier`);
- what each of its last SENT_REMEMBERED inputs sent (`<case id>|sent|<cause>`): a redelivered input (after a
  restart or rebalance) is recognised by its case, which answers with the outputs it sent the first time,
  because they may not have reached the broker before the worker stopped. The file names the inputs
  remembered, oldest first, to forget the oldest.
A value is written before the file that names it. A file written by an earlier release holds both in
itself (`dossier`, `sent`); they stay readable, and the case's next change moves them out.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from envgrid.domain.cases.model import Case

SENT_REMEMBERED = 16  # inputs per case whose outputs are kept, to answer a redelivery identically


@dataclass
class CaseFile:
    case: Case
    dossier: dict[str, Any]  # empty: the dossier is in `memory` (an earlier release kept it here)
    sent: dict[str, list[Any]] = field(default_factory=dict)  # remembered outputs, as an earlier release kept them
    partition: int | None = None  # where the case lives (the calendar desk re-times a partition's cases)
    remembered: tuple[str, ...] = ()  # causes (event ids) whose outputs `memory` holds, oldest first
    # the hash of the case's latest history entry, the next one's previous_hash (`connectors.history_chain`);
    # None in a case file of a release before the chain: the case's chain starts at its next entry
    history_hash: str | None = None

    def dossier_in(self, memory: MutableMapping[str, Any]) -> dict[str, Any] | None:
        """The case's dossier (None if it is lost: see `CaseService._open`)."""
        return self.dossier or memory.get(self._key("dossier"))

    def keep_dossier(self, memory: MutableMapping[str, Any], dossier: dict[str, Any]) -> None:
        memory[self._key("dossier")] = dossier
        self.dossier = {}

    def remember(self, memory: MutableMapping[str, Any], cause: str, outputs: list[Any]) -> None:
        """Keep what was sent for `cause` (outputs and dead letters), forgetting beyond SENT_REMEMBERED inputs."""
        earlier, self.sent = self.sent, {}  # kept in the file by an earlier release: moved out, in their order
        for kept, sent in [*earlier.items(), (cause, outputs)]:
            memory[self._key("sent", kept)] = list(sent)
            if kept not in self.remembered:
                self.remembered = (*self.remembered, kept)
        while len(self.remembered) > SENT_REMEMBERED:
            memory.pop(self._key("sent", self.remembered[0]), None)
            self.remembered = self.remembered[1:]

    def recall(self, memory: MutableMapping[str, Any], cause: str) -> list[Any]:
        """What was sent for `cause` (nothing when it is not remembered)."""
        if cause in self.sent:
            return self.sent[cause]
        return list(memory.get(self._key("sent", cause)) or []) if cause in self.remembered else []

    def _key(self, *parts: str) -> str:
        return "|".join((self.case.case_id, *parts))
