"""Enqueueing analyses: the queued rows first, then tasks that carry their ids.

The rows are the record of what was asked. A task lost with a killed worker, or dropped by
the Redis broker (it has no delivery receipts), is found again from them by
tagging.services.retry_due_analyses. An upload queues its one image; backfills, re-tags and
retries queue explicit batches of BATCH_SIZE analyses per task.

enqueue_analyses records the queued rows; dispatch queues their tasks once the rows are
committed.

At most one analysis of an image and workflow is pending (queued or running) at a time, a
constraint of the table: two paths asking for the same image at once get one analysis.
"""

import uuid
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import ProductImage
from config.queue import enqueue
from tagging.models import ImageAnalysis

ROUTE = "vision-tagging"
ANALYSE_TASK = "tagging.tasks.analyze_images_task"
# Analyses one task of a backfill, a re-tag or a retry carries; their model calls run side by side.
BATCH_SIZE = 16


def batch_size() -> int:
    """How many analyses one task of a backfill, a re-tag or a retry carries."""
    return BATCH_SIZE


def enqueue_analyses(
    *,
    image_ids: Sequence[int],
    workflow: str = ImageAnalysis.Workflow.FULL,
    force: bool = False,
    requested_by=None,
    route: str = ROUTE,
    queue: str = "",
) -> list[ImageAnalysis]:
    """Record a queued analysis for each image that needs one; returns the rows queued.

    An image whose latest analysis failed has that analysis queued again, with a fresh
    allowance of attempts (staff asked). One with an analysis pending is skipped (it has one
    coming); so is one analysed already, unless ``force``; so is an image that is gone.
    """
    latest: dict[int, tuple[int, str]] = {}
    rows = (
        ImageAnalysis.objects.filter(image_id__in=list(image_ids), workflow=workflow)
        .order_by("image_id", "created_at", "id")
        .values_list("image_id", "pk", "status")
    )
    pending_images, succeeded_images = set(), set()
    for image_id, pk, status in rows:
        latest[image_id] = (pk, status)
        if status in ImageAnalysis.PENDING:
            pending_images.add(image_id)
        elif status == ImageAnalysis.Status.SUCCEEDED:
            succeeded_images.add(image_id)
    # order_by(): a membership test needs no order, and the default one joins the products.
    existing = set(ProductImage.objects.filter(pk__in=list(image_ids)).order_by().values_list("pk", flat=True))
    token, now = uuid.uuid4(), timezone.now()
    fresh, failed = [], []
    for image_id in dict.fromkeys(image_ids):
        if image_id not in existing or image_id in pending_images:
            continue
        last = latest.get(image_id)
        if last is not None and last[1] == ImageAnalysis.Status.FAILED:
            failed.append(last[0])
        elif image_id not in succeeded_images or force:
            fresh.append(image_id)
    if not fresh and not failed:  # nothing carries the token: nothing to read back
        return []
    changes = {"route": route, "queue": queue, "claim": token, "next_attempt_at": now}
    for pk in failed:
        _queue_again(pk=pk, force=force, requested_by=requested_by, **changes)
    _create_queued(
        [
            ImageAnalysis(image_id=image_id, workflow=workflow, force=force, requested_by=requested_by, **changes)
            for image_id in fresh
        ]
    )
    return list(ImageAnalysis.objects.filter(claim=token, status=ImageAnalysis.Status.QUEUED).order_by("pk"))


def _queue_again(*, pk: int, force: bool, requested_by, **changes) -> None:
    try:
        with transaction.atomic():
            ImageAnalysis.objects.filter(pk=pk, status=ImageAnalysis.Status.FAILED).update(
                status=ImageAnalysis.Status.QUEUED, attempts=0, force=force, **changes
            )
            if requested_by is not None:
                ImageAnalysis.objects.filter(pk=pk).update(requested_by=requested_by)
    except IntegrityError:
        pass  # another path queued this image a moment ago: that analysis answers


def _create_queued(rows: list[ImageAnalysis]) -> None:
    """Insert the rows; those another path queued meanwhile are skipped (the pending constraint)."""
    if not rows:
        return
    try:
        with transaction.atomic():
            ImageAnalysis.objects.bulk_create(rows)
        return
    except IntegrityError:
        pass
    for row in rows:
        try:
            with transaction.atomic():
                row.pk = None
                row.save(force_insert=True)
        except IntegrityError:
            continue


def dispatch(analyses: Sequence[ImageAnalysis]) -> None:
    """Queue tasks for ``analyses`` now: one per batch of each queue; a lone analysis is a batch
    of one. Call it once their rows are committed (``transaction.on_commit``).

    ``queue`` names a django-q2 queue other than the default (the cluster started with
    Q_CLUSTER_NAME set to it serves it)."""
    by_queue: dict[str, list[int]] = {}
    for analysis in analyses:
        by_queue.setdefault(analysis.queue, []).append(analysis.pk)
    size = batch_size()
    for queue, ids in by_queue.items():
        for start in range(0, len(ids), size):
            _enqueue_task(ids[start : start + size], queue=queue)


def _enqueue_task(analysis_ids: list[int], *, queue: str) -> str:
    extra = {"cluster": queue} if queue else {}
    return enqueue(
        ANALYSE_TASK,
        analysis_ids,
        task_name=f"analyse-{analysis_ids[0]}-{len(analysis_ids)}",
        group="image-analysis",
        **extra,
    )
