"""Queueing a backfill: a chunk of analyses at once, one task per batch, a bounded queue.

An upload queues one task for its one image. A backfill knows a whole chunk of images up
front, so it records the chunk's queued analyses at once (tagging.queueing.enqueue_analyses)
and queues one task per tagging.queueing.BATCH_SIZE of them, each carrying their ids.

The queue is shared with uploads, whose tags are expected within half a second. A backfill
that queued 100,000 images at once would put every upload behind all of them, so the next
batch is only queued while fewer than ``max_waiting`` of the backfill's analyses are still
waiting for a worker. When none of them is taken for ``STALLED_AFTER_SECONDS`` (typically: no
cluster serves the backfill's queue), the bound says so once instead of waiting in silence.
"""

import time
from collections.abc import Callable, Sequence

from tagging.models import ImageAnalysis

DEFAULT_MAX_WAITING = 64  # four tasks of 16: one ready for each worker of a backfill cluster
WAIT_POLL_SECONDS = 0.25
# A worker takes a waiting batch within a second or two even behind a burst of uploads; a
# minute with none taken means nobody is serving the queue (or every worker is stuck).
STALLED_AFTER_SECONDS = 60.0


class WaitingBound:
    """Holds a backfill back while ``max_waiting`` or more of its analyses wait for a worker.

    ``on_stalled(seconds)`` is called once when it has waited ``stalled_after`` seconds without
    a worker taking any of them, and again only after a worker took some and it stalled anew.
    """

    def __init__(
        self,
        max_waiting: int = DEFAULT_MAX_WAITING,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_stalled: Callable[[float], None] | None = None,
        stalled_after: float | None = None,
    ):
        self.max_waiting = max(1, max_waiting)
        self.sleep = sleep or time.sleep
        self.clock = clock
        self.on_stalled = on_stalled
        self.stalled_after = STALLED_AFTER_SECONDS if stalled_after is None else stalled_after
        self.waiting: list[int] = []

    def room_for(self, group: Sequence[ImageAnalysis]) -> list[ImageAnalysis]:
        """Block until ``group`` fits, then return those of it still queued and count them as waiting."""
        ids = [analysis.pk for analysis in group]
        idle_since, told = self.clock(), False
        while True:
            queued = set(
                ImageAnalysis.objects.queued()
                .filter(pk__in=[*self.waiting, *ids])
                .values_list("pk", flat=True)
                .order_by()
            )
            still_waiting = [pk for pk in self.waiting if pk in queued]
            if len(still_waiting) < len(self.waiting):
                idle_since, told = self.clock(), False  # a worker took some: not stalled
            self.waiting = still_waiting
            if not self.waiting or len(self.waiting) + len(ids) <= self.max_waiting:
                break
            idle = self.clock() - idle_since
            if idle >= self.stalled_after and not told and self.on_stalled is not None:
                self.on_stalled(idle)
                told = True
            self.sleep(WAIT_POLL_SECONDS)
        still = [analysis for analysis in group if analysis.pk in queued]
        self.waiting.extend(analysis.pk for analysis in still)
        return still
