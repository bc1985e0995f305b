"""Queueing a backfill: a chunk of analyses at once, one task per batch, a bounded queue.

An upload queues one task for its one image. A backfill knows a whole chunk of images up
front, so it records the chunk's queued analyses in one INSERT and queues one task per
SHELFSIGHT_BACKFILL_BATCH plain analyses, each task naming the others it answers for
(tagging.batches.task_groups, as the sweep does): no task of a backfill starts only to find
its image taken.

The queue is shared with uploads, whose tags are expected within half a second. A backfill
that queued 100,000 images at once would put every upload behind all of them, so the next
batch is only queued while fewer than ``max_waiting`` of the backfill's analyses are still
waiting for a worker.
"""

import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db.models import Exists, OuterRef

from catalog.models import ProductImage
from tagging.models import ImageAnalysis
from tagging.services import ROUTE

DEFAULT_MAX_WAITING = 64  # four tasks of 16: one ready for each worker of a backfill cluster
WAIT_POLL_SECONDS = 0.25


def queue_analyses(*, image_ids: Sequence[int], workflow: str = "full", force: bool = False) -> list[ImageAnalysis]:
    """``queue_analysis`` for many images in two statements; returns the rows queued, by image id.

    Images already pending (and, without ``force``, already analysed) or gone are skipped.
    """
    pending = [ImageAnalysis.Status.QUEUED, ImageAnalysis.Status.RUNNING]
    needless = pending if force else [*pending, ImageAnalysis.Status.SUCCEEDED]
    settled = ImageAnalysis.objects.filter(image=OuterRef("pk"), workflow=workflow, status__in=needless)
    needing = ProductImage.objects.filter(pk__in=image_ids).exclude(Exists(settled)).order_by("pk")
    queued, queue = ImageAnalysis.Status.QUEUED, settings.SHELFSIGHT_BACKFILL_QUEUE
    rows = [
        ImageAnalysis(image_id=image_id, workflow=workflow, force=force, route=ROUTE, status=queued, queue=queue)
        for image_id in needing.values_list("pk", flat=True)
    ]
    return ImageAnalysis.objects.bulk_create(rows)


class WaitingBound:
    """Holds a backfill back while ``max_waiting`` or more of its analyses wait for a worker."""

    def __init__(self, max_waiting: int = DEFAULT_MAX_WAITING, *, sleep: Callable[[float], None] | None = None):
        self.max_waiting = max(1, max_waiting)
        self.sleep = sleep or time.sleep
        self.waiting: list[int] = []

    def room_for(self, group: Sequence[ImageAnalysis]) -> list[ImageAnalysis]:
        """Block until ``group`` fits, then return those of it still queued (a task of an
        upload may have taken some along meanwhile) and count them as waiting."""
        ids = [analysis.pk for analysis in group]
        while True:
            queued = set(
                ImageAnalysis.objects.filter(pk__in=[*self.waiting, *ids], status=ImageAnalysis.Status.QUEUED)
                .values_list("pk", flat=True)
                .order_by()
            )
            self.waiting = [pk for pk in self.waiting if pk in queued]
            if not self.waiting or len(self.waiting) + len(ids) <= self.max_waiting:
                break
            self.sleep(WAIT_POLL_SECONDS)
        still = [analysis for analysis in group if analysis.pk in queued]
        self.waiting.extend(analysis.pk for analysis in still)
        return still
