"""The router commits a batch's inputs only once the broker acknowledged everything the batch produced, and
never ahead of an earlier batch."""

from __future__ import annotations

import pytest

from envgrid.streams.batch_ledger import BatchLedger, OutputRejected


class _Record:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


def _produce(ledger: BatchLedger, count: int):
    batch = ledger.current
    for _ in range(count):
        batch.sent()
    return batch


def test_a_batch_is_committable_once_sealed_and_every_output_acknowledged() -> None:
    ledger = BatchLedger()
    batch = _produce(ledger, 3)
    assert ledger.committable() == ({}, [])  # not sealed yet
    ledger.seal({("intake", 0): 10}, ["report-a"])
    batch.delivered(None, _Record("dept"))
    batch.delivered(None, _Record("dept"))
    assert ledger.committable() == ({}, [])  # one output still in flight
    batch.delivered(None, _Record("dept"))
    assert ledger.committable() == ({("intake", 0): 10}, ["report-a"])
    assert ledger.committable() == ({}, []) and ledger.in_flight() == 0


def test_a_later_batch_waits_for_an_earlier_one_and_the_latest_offset_of_a_partition_wins() -> None:
    ledger = BatchLedger()
    first = _produce(ledger, 1)
    ledger.seal({("intake", 0): 10, ("intake", 1): 4})
    second = _produce(ledger, 1)
    ledger.seal({("intake", 0): 20})
    second.delivered(None, _Record("dept"))
    assert ledger.committable() == ({}, []) and ledger.in_flight() == 2
    first.delivered(None, _Record("dept"))
    assert ledger.committable() == ({("intake", 0): 20, ("intake", 1): 4}, [])


def test_a_batch_that_produced_nothing_is_committable_at_once() -> None:
    ledger = BatchLedger()
    ledger.seal({("intake", 3): 7})
    assert ledger.committable() == ({("intake", 3): 7}, [])


def test_a_refused_output_stops_the_commits_naming_the_topic() -> None:
    ledger = BatchLedger()
    batch = _produce(ledger, 2)
    ledger.seal({("intake", 0): 5})
    batch.delivered(None, _Record("dept"))
    batch.delivered("TOPIC_AUTHORIZATION_FAILED", _Record("envgrid.dept.epb.cases"))
    with pytest.raises(OutputRejected, match="envgrid.dept.epb.cases: TOPIC_AUTHORIZATION_FAILED"):
        ledger.committable()


def test_after_an_abandoned_batch_earlier_batches_commit_and_no_later_one_can_be_sealed() -> None:
    ledger = BatchLedger()
    ledger.seal({("intake", 0): 3})
    _produce(ledger, 1)
    ledger.abandon()
    assert ledger.committable() == ({("intake", 0): 3}, [])
    with pytest.raises(RuntimeError, match="abandoned"):
        ledger.seal({("intake", 0): 9})
