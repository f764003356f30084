"""Three corrections to how faust (faust-streaming 0.15 on aiokafka) hands records to the agents around a rebalance,
installed by `envgrid.streams.app.build_runtime`. Without them a worker that restores its tables after a rebalance
(a restarted worker, a new one, one given another's partitions) can skip for good records waiting on its input
partitions: the restarted worker of tests/integration/test_three_brokers.py never processed `internal.sla-ticks`
partitions 0 and 1 (lag 1 on each; the group never drained).

What happens, in faust's and aiokafka's code:
1. While the worker restores its tables (`tables.recovery.Recovery._restart_recovery`), faust's set of active
   partitions (`Consumer._active_partitions`) holds only the changelogs it reads; the input partitions are paused
   in that set only. aiokafka fetches every assigned partition all the same: records waiting on the inputs (the
   ticks) sit in its fetch buffer.
2. Once the changelogs are read ("Done reading from changelog topics") recovery pauses them: the set is empty.
   faust asks for records only while it is not (`Consumer._wait_next_records`), but hands the set object itself to
   the consumer thread (`AIOKafkaConsumerThread.getmany` -> `_fetch_records`), which runs the call later, on its own
   event loop. By then the set is empty, and aiokafka's `Fetcher.fetched_records(partitions)` reads an empty
   collection as "no filter": it returns the buffered ticks and moves their positions past them.
   `Consumer.getmany` drops them, their partition not being active.
3. Recovery ends in `Recovery.on_recovery_completed`: resume the inputs, seek them back to the committed offsets
   (`Consumer.perform_seek`), then `app.flow_control.resume()`, which empties every agent's queue. But aiokafka's
   `seek_to_committed` seeks only a partition whose committed offset is above 0: one its group never committed to
   (the first ticks ever; the yearly holiday calendar; a unit's notice topic before its first notice) keeps the
   position of step 2, past records never delivered. Nothing commits them, so the group's lag stays up; and a later
   record on the same partition would be processed and committed past them: lost without a trace.
4. The flow was resumed earlier in recovery (to read the changelogs). So between resuming the inputs and that last
   `flow_control.resume()`, the fetcher goes on handing records to the agents' queues; one fetched after the seek
   (the consumer thread runs the seek and the fetch side by side) is then emptied out of its queue with its
   position already past it, committed partition or not.

The corrections:
- the consumer thread fetches from the active partitions as they are when the call runs, and nothing at all when
  there are none (what faust means; aiokafka would take every partition);
- the seek back to the committed offsets also seeks every input partition without a committed offset (or 0) to its
  beginning, where the group's first reader starts (the app's `consumer_auto_offset_reset` is earliest): whatever
  was fetched and dropped before a seek is read again (at least once, never skipped);
- recovery stops the consumer's flow before it resumes the inputs and seeks, so nothing reaches an agent's queue
  until the seek is done and the flow resumed; a fetch under way then is dropped by faust's own `getmany` and
  followed by a seek back (its branch for a stopped flow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Set
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiokafka

__all__ = ["install_rebalance_corrections", "fetch_from_active", "seek_to_committed_or_start",
           "stop_flow_until_resumed"]

ORIGINALS: dict[str, Callable[..., Any]] = {}  # faust's own functions, as they were before the corrections


def install_rebalance_corrections() -> None:
    """Patch faust's aiokafka consumer thread and its table recovery (once per process)."""
    from faust.tables.recovery import Recovery
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread, "_envgrid_rebalance_corrections", False):
        return
    fetch_records = ORIGINALS["_fetch_records"] = thread._fetch_records
    ORIGINALS["seek_to_committed"] = thread.seek_to_committed
    recovery_completed = ORIGINALS["on_recovery_completed"] = Recovery.on_recovery_completed

    async def fetch_records_of_active(self: faust_aiokafka.AIOKafkaConsumerThread, consumer: aiokafka.AIOKafkaConsumer,
                                      active_partitions: Set[Any] | None, timeout: float | None = None,
                                      max_records: int | None = None) -> Mapping[Any, list[Any]]:
        return await fetch_from_active(
            lambda partitions: fetch_records(self, consumer, partitions,  # type: ignore[arg-type]
                                             timeout=timeout, max_records=max_records),
            active_partitions)

    async def seek_to_committed(self: faust_aiokafka.AIOKafkaConsumerThread) -> Any:
        def is_input(tp: Any) -> bool:
            return not self.consumer._is_changelog_tp(tp)

        return await self.call_thread(seek_to_committed_or_start, self._ensure_consumer(), is_input,
                                      self.app.conf.consumer_auto_offset_reset)

    async def on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
        await stop_flow_until_resumed(self.app.consumer, lambda: recovery_completed(self, generation_id))

    thread._fetch_records = fetch_records_of_active  # type: ignore[method-assign]
    thread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    Recovery.on_recovery_completed = on_recovery_completed  # type: ignore[method-assign]
    thread._envgrid_rebalance_corrections = True  # type: ignore[attr-defined]


async def fetch_from_active(fetch: Callable[[frozenset[Any] | None], Awaitable[Mapping[Any, list[Any]]]],
                            active_partitions: Set[Any] | None) -> Mapping[Any, list[Any]]:
    """Fetch (in the consumer thread) from the partitions active now: a copy of faust's live set, taken when the
    call runs, and nothing when it is empty (aiokafka would read an empty set as every partition). None (a
    client-only app) still means every partition."""
    if active_partitions is None:
        return await fetch(None)
    partitions = frozenset(active_partitions)
    if not partitions:
        return {}
    return await fetch(partitions)


async def seek_to_committed_or_start(consumer: aiokafka.AIOKafkaConsumer, is_input: Callable[[Any], bool],
                                     reset: str = "earliest") -> Mapping[Any, int | None]:
    """aiokafka's seek_to_committed (in the consumer thread); then, with the `earliest` reset policy, every input
    partition with no committed offset, or 0, sought to its beginning (aiokafka leaves those where they are).
    Changelogs keep the positions recovery gave them."""
    committed: Mapping[Any, int | None] = await consumer.seek_to_committed()
    if reset == "earliest":
        uncommitted = [tp for tp, offset in committed.items() if not offset and is_input(tp)]
        if uncommitted:
            await consumer.seek_to_beginning(*uncommitted)
    return committed


async def stop_flow_until_resumed(consumer: Any, complete: Callable[[], Awaitable[None]]) -> None:
    """Stop the consumer's flow, then let recovery complete: it resumes the inputs, seeks them and resumes the flow
    (or, a new rebalance under way, leaves that to the next recovery, as faust's revocation would)."""
    consumer.stop_flow()
    await complete()
