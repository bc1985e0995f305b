"""Analysing a task's image together with other queued images: calls side by side, writes at once.

A burst of uploads queues one task per image, and each lone analysis pays for its own
claim, its own transaction and its own round of tags_changed listeners. So a task that runs
while other plain analyses wait takes up to SHELFSIGHT_ANALYSIS_BATCH - 1 of them along:
their preparation and model calls run on a few threads next to its own analysis, and their
outcomes are written in one transaction with a single tags_changed for all their products.
The tasks of the images taken along find them done (or running) and end at once.

Only plain work is taken along: full analyses queued by uploads and backfills down the
default route, never a forced re-tag or a staff-chosen route, which keep their own task.
Claims are conditional UPDATEs, like a lone analysis's, so an image is never analysed
twice at once, and a worker killed mid-batch leaves rows that the sweep re-queues.
"""

import gc
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.conf import Conf

from catalog.models import ProductImage
from llm import gateway
from llm.models import LLMCall
from tagging import tasks
from tagging.events import announced_together
from tagging.machine_tags import TagWrites
from tagging.models import ImageAnalysis, ProductTag
from tagging.services import (
    ROUTE,
    _analyse,
    _earlier_analyses,
    _Outcome,
    _record,
    _reused_outcome,
    analyze_image,
)

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None


def batch_size() -> int:
    """How many analyses an upload's task takes on at most (SHELFSIGHT_ANALYSIS_BATCH)."""
    return _size_setting("SHELFSIGHT_ANALYSIS_BATCH")


def backfill_batch_size() -> int:
    """How many analyses a task queued by backfill_tags carries (SHELFSIGHT_BACKFILL_BATCH)."""
    return _size_setting("SHELFSIGHT_BACKFILL_BATCH")


def _size_setting(name: str) -> int:
    if Conf.SYNC:  # tasks run inline as each image is saved: nothing waits to be taken along
        return 1
    return max(1, int(getattr(settings, name, 1)))


def current_queue() -> str:
    """The task queue this process serves: blank for the default one, else its cluster's name."""
    return "" if Conf.CLUSTER_NAME == Conf.PREFIX else Conf.CLUSTER_NAME


def is_plain(*, workflow: str, force: bool, route: str) -> bool:
    """Whether an analysis may be taken along: a full one, not forced, down the default route."""
    return workflow == ImageAnalysis.Workflow.FULL and not force and (route or ROUTE) == ROUTE


def task_groups(analyses: Iterable[ImageAnalysis], *, size: int | None = None) -> Iterator[list[ImageAnalysis]]:
    """The analyses a task each: plain ones of one queue by ``size`` (SHELFSIGHT_ANALYSIS_BATCH
    unless given), any other alone."""
    size = size or batch_size()
    plain: dict[str, list[ImageAnalysis]] = {}
    for analysis in analyses:
        if not is_plain(workflow=analysis.workflow, force=analysis.force, route=analysis.route):
            yield [analysis]
            continue
        group = plain.setdefault(analysis.queue, [])
        group.append(analysis)
        if len(group) == size:
            yield plain.pop(analysis.queue)
    yield from plain.values()


def dispatch_group(group: Sequence[ImageAnalysis]) -> str:
    """Queue one task for ``group`` (from task_groups) on the analyses' queue: the first image's,
    carrying every analysis by id (its own too, so it is claimed and written with the rest),
    since a task that takes "the oldest queued" could leave them behind."""
    first = group[0]
    return tasks.dispatch_analysis(
        image_id=first.image_id,
        workflow=first.workflow,
        force=first.force,
        route=first.route or ROUTE,
        along=[analysis.pk for analysis in group] if len(group) > 1 else None,
        queue=first.queue,
    )


def analyze_image_with_companions(*, image_id: int, companions: int, along: Sequence[int] = ()) -> ImageAnalysis | None:
    """Analyse ``image_id`` as ``analyze_image`` does, plus up to ``companions`` other queued images,
    those of the analyses ``along`` first (see claim_companions).

    When ``along`` names this image's own queued analysis (a task of the sweep or a backfill),
    it is claimed and written with the others: one claim and one transaction for the batch.
    Returns the analysis of ``image_id``; the companions' analyses are recorded on their rows.
    """
    taken = claim_companions(exclude_image_id=image_id, limit=companions, along=along)
    if not taken:
        return analyze_image(image_id=image_id)
    own = next((analysis for analysis in taken if analysis.image_id == image_id), None)
    sources = _earlier_analyses(
        shas=[analysis.image.sha256 for analysis in taken],
        workflow=ImageAnalysis.Workflow.FULL,
        route=ROUTE,
        exclude=[analysis.pk for analysis in taken],
    )
    others = [analysis for analysis in taken if analysis is not own]
    futures = [
        _threads().submit(_outcome_in_thread, analysis, sources.get(analysis.image.sha256)) for analysis in others
    ]
    outcomes = []
    try:
        if own is None:
            return analyze_image(image_id=image_id)
        outcomes.append((own, _held_outcome(own, sources.get(own.image.sha256))))
        return own
    finally:  # the images taken along are recorded whatever became of this one
        outcomes.extend((analysis, future.result()) for analysis, future in zip(others, futures, strict=True))
        record_together(outcomes)


def claim_companions(*, exclude_image_id: int, limit: int, along: Sequence[int] = ()) -> list[ImageAnalysis]:
    """Claim up to ``limit`` plain queued analyses; returns the claimed rows.

    The analyses ``along`` come first: a task the sweep or a backfill dispatched for several
    analyses carries their ids (its own image's among them), because only the task itself
    answers for them. The rest, of images other than ``exclude_image_id``, are the
    oldest queued for this process's queue (a backfill's own queue is not the uploads'); each of
    those still has a task of its own should this one not take it.
    """
    if limit <= 0:
        return []
    if along or not _has_returning():
        plain_queued = ImageAnalysis.objects.filter(
            status=ImageAnalysis.Status.QUEUED,
            workflow=ImageAnalysis.Workflow.FULL,
            force=False,
            route__in=[ROUTE, ""],  # the queryset form of is_plain
        )
        named = list(
            plain_queued.filter(pk__in=along).order_by("created_at", "id").values_list("pk", flat=True)[:limit]
        )
        oldest = (
            plain_queued.filter(queue=current_queue())
            .exclude(image_id=exclude_image_id)
            .exclude(pk__in=named)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
        )
        candidates = named + list(oldest[: limit - len(named)]) if len(named) < limit else named
        claimed = _take(candidates) if candidates else []
    else:
        claimed = _take_oldest(exclude_image_id=exclude_image_id, limit=limit)
    if not claimed:
        return []
    rows = ImageAnalysis.objects.select_related("image__product").filter(pk__in=claimed).order_by("created_at", "id")
    return list(rows)


def _take(pks: list[int]) -> list[int]:
    """Move those of ``pks`` still queued to running; returns the ones this call moved.

    One UPDATE ... RETURNING where the database has it (SQLite 3.35+, PostgreSQL): the rows it
    returns are exactly the ones whose status it changed, so concurrent takers never share one.
    """
    if not _has_returning():
        now = timezone.now()
        return [
            pk
            for pk in pks
            if ImageAnalysis.objects.filter(pk=pk, status=ImageAnalysis.Status.QUEUED).update(
                status=ImageAnalysis.Status.RUNNING, started_at=now, attempts=F("attempts") + 1, route=ROUTE
            )
        ]
    marks = ", ".join(["%s"] * len(pks))
    return _set_running(f"WHERE id IN ({marks}) AND status = %s", [*pks, ImageAnalysis.Status.QUEUED])


def _take_oldest(*, exclude_image_id: int, limit: int) -> list[int]:
    """Move up to ``limit`` of the oldest plain queued analyses (not of ``exclude_image_id``) to
    running; returns their ids.

    Every task of a busy queue looks for companions, so this is one statement, and written out:
    building the equivalent querysets costs more CPU than PostgreSQL spends running it. There,
    rows another worker is claiming at the same moment are skipped rather than waited for.
    """
    table = connection.ops.quote_name(ImageAnalysis._meta.db_table)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # Materialised: as a plain IN (subquery), PostgreSQL may run a locking subquery more than
    # once per statement and so take more than LIMIT rows.
    picked = (
        f"WITH picked AS MATERIALIZED (SELECT id FROM {table} WHERE status = %s AND workflow = %s "  # noqa: S608 - names only
        f"AND NOT force AND route IN (%s, '') AND queue = %s AND image_id <> %s "
        f"ORDER BY created_at, id LIMIT %s{skip_locked})"
    )
    queued = ImageAnalysis.Status.QUEUED
    return _set_running(
        "WHERE status = %s AND id IN (SELECT id FROM picked)",
        [queued],
        prefix=(picked, [queued, ImageAnalysis.Workflow.FULL, ROUTE, current_queue(), exclude_image_id, limit]),
    )


def _has_returning() -> bool:
    return connection.vendor in ("sqlite", "postgresql")


def _set_running(where: str, where_params: list, *, prefix: tuple[str, list] = ("", [])) -> list[int]:
    """``[prefix] UPDATE … SET <running, now, attempt + 1> <where> RETURNING id``: the ids it moved."""
    table = connection.ops.quote_name(ImageAnalysis._meta.db_table)
    started_at = ImageAnalysis._meta.get_field("started_at").get_db_prep_value(timezone.now(), connection)
    prefix_sql, prefix_params = prefix
    with connection.cursor() as cursor:
        cursor.execute(
            f"{prefix_sql} UPDATE {table} SET status = %s, started_at = %s, attempts = attempts + 1, route = %s "  # noqa: S608 - names only
            f"{where} RETURNING id",
            [*prefix_params, ImageAnalysis.Status.RUNNING, started_at, ROUTE, *where_params],
        )
        return [row[0] for row in cursor.fetchall()]


def record_together(outcomes: list[tuple[ImageAnalysis, _Outcome]]) -> None:
    """Write every outcome in one transaction and announce the changed products once.

    The model calls held for the batch (gateway.holding_calls) go first, in one INSERT of
    their own: they are spent whatever becomes of the rest.

    The products' tag rows are read in one query for the batch, not twice for every image.
    When the images are of different products (the usual burst of uploads), all their new
    tags go in one INSERT and all their events in another; should anything in that fail (a
    tag another worker wrote meanwhile), it is undone and each image is written on its own.
    """
    held_calls = [call for _, outcome in outcomes for call in outcome.held_calls]
    if held_calls:
        LLMCall.objects.bulk_create(held_calls)
    with transaction.atomic(), announced_together():
        product_ids = [analysis.image.product_id for analysis, _ in outcomes]
        distinct = set(product_ids)
        product_tags = _tags_of_products(distinct)
        if len(distinct) == len(product_ids):
            if _recorded_at_once(outcomes, product_tags):
                return
            product_tags = _tags_of_products(distinct)  # the failed attempt changed rows in memory
        for analysis, outcome in outcomes:
            try:
                _record_one(analysis, outcome, product_tags)
            except Exception as error:  # this image's writes rolled back with its savepoint; the rest stand
                logger.exception("Recording analysis %s of image %s failed", analysis.pk, analysis.image_id)
                # Rows changed in memory before the failure were rolled back in the database.
                product_tags.update(_tags_of_products({analysis.image.product_id}))
                failure = _Outcome(
                    findings=None,
                    quality=outcome.quality,
                    fields=outcome.fields,
                    error=str(error)[:2000],
                    error_class=type(error).__name__,
                )
                _record_one(analysis, failure)


def _recorded_at_once(
    outcomes: list[tuple[ImageAnalysis, _Outcome]], product_tags: dict[int, list[ProductTag]]
) -> bool:
    """Write the outcomes of images of different products with their tag INSERTs merged;
    False, with nothing written, if any of it failed."""
    writes = TagWrites()
    try:
        with transaction.atomic():
            for analysis, outcome in outcomes:
                _record_one(analysis, outcome, product_tags, tag_writes=writes)
            save_analyses([analysis for analysis, _ in outcomes])
            writes.save()
    except Exception:  # written again image by image, which records what failed and where
        logger.info("Writing a batch of %s analyses at once failed; writing them one by one", len(outcomes))
        return False
    return True


def _record_one(
    analysis: ImageAnalysis,
    outcome: _Outcome,
    product_tags: dict[int, list[ProductTag]] | None = None,
    *,
    tag_writes: TagWrites | None = None,
) -> None:
    _record(
        analysis=analysis,
        image=analysis.image,
        workflow=analysis.workflow,
        outcome=outcome,
        product_tags=product_tags[analysis.image.product_id] if product_tags is not None else None,
        tag_writes=tag_writes,
    )


def save_analyses(analyses: list[ImageAnalysis]) -> None:
    """Save every field of ``analyses``, as save() does, in one UPDATE … FROM a list of values
    where the database has it (PostgreSQL; SQLite 3.33+); one save() each elsewhere.

    A batch's analysis rows differ in every column, so Django's bulk_update would build a CASE
    per column and row: 10-15x the CPU of saving them one by one (bench/analysis_rows.py).
    """
    if not analyses:
        return
    if not _has_update_from():
        for analysis in analyses:
            analysis.save()
        return
    fields = [field for field in ImageAnalysis._meta.concrete_fields if not field.primary_key]
    rows_per_statement = max(1, connection.ops.bulk_batch_size([*fields, ImageAnalysis._meta.pk], analyses))
    for start in range(0, len(analyses), rows_per_statement):
        _update_from_values(analyses[start : start + rows_per_statement], fields)


def _has_update_from() -> bool:
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version_info >= (3, 33)
    return connection.vendor == "postgresql"


def _update_from_values(analyses: list[ImageAnalysis], fields: list) -> None:
    quote = connection.ops.quote_name
    table = quote(ImageAnalysis._meta.db_table)
    columns = [quote(field.column) for field in fields]
    # PostgreSQL types a VALUES list from its literals, and a NULL or a JSON text would land in
    # the wrong type, so each value is cast to its column's; SQLite takes values as they come
    # (and a cast there would change them: CAST('2026-…' AS datetime) is a number).
    if connection.vendor == "postgresql":
        marks = [f"%s::{field.db_type(connection)}" for field in [ImageAnalysis._meta.pk, *fields]]
    else:
        marks = ["%s"] * (len(fields) + 1)
    row = "(" + ", ".join(marks) + ")"
    params: list = []
    for analysis in analyses:
        params.append(analysis.pk)
        params.extend(field.get_db_prep_save(getattr(analysis, field.attname), connection) for field in fields)
    assignments = ", ".join(f"{column} = written.{column}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH written (id, {', '.join(columns)}) AS (VALUES {', '.join([row] * len(analyses))}) "  # noqa: S608 - names only
            f"UPDATE {table} SET {assignments} FROM written WHERE {table}.id = written.id",
            params,
        )


def _tags_of_products(product_ids: set[int]) -> dict[int, list[ProductTag]]:
    rows: dict[int, list[ProductTag]] = {product_id: [] for product_id in product_ids}
    for row in ProductTag.objects.filter(product_id__in=product_ids):
        rows[row.product_id].append(row)
    return rows


def _outcome_in_thread(analysis: ImageAnalysis, source: ImageAnalysis | None) -> _Outcome:
    """_held_outcome on a pool thread."""
    # Pool threads keep their database connection between batches; drop it if it went bad or
    # stale. (The task's own thread is django-q2's, which does this before every task.)
    close_old_connections()
    return _held_outcome(analysis, source)


def _held_outcome(analysis: ImageAnalysis, source: ImageAnalysis | None) -> _Outcome:
    """The reused outcome of ``source`` (an earlier analysis of the same bytes), or a fresh one,
    holding its model call's row for record_together."""
    with gateway.holding_calls() as held:
        outcome = _outcome(analysis, source)
    outcome.held_calls = held
    return outcome


def _outcome(analysis: ImageAnalysis, source: ImageAnalysis | None) -> _Outcome:
    image: ProductImage = analysis.image
    try:
        if source is not None:
            return _reused_outcome(source=source, analysis=analysis, image=image)
        return _analyse(analysis=analysis, image=image, workflow=analysis.workflow)
    except Exception as error:  # recorded on the analysis, like a lone analysis does
        logger.exception("Analysis %s of image %s failed unexpectedly", analysis.pk, image.pk)
        return _Outcome(
            findings=None, quality=None, fields={}, error=str(error)[:2000], error_class=type(error).__name__
        )


def release_threads() -> None:
    """Stop the pool: its threads end, and collecting their thread-local state closes their database connections."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
        gc.collect()


def _threads() -> ThreadPoolExecutor:
    """One pool per process (a worker runs one task at a time), so its threads and their
    database connections are reused from batch to batch. Threads start only as batches need
    them: a worker never handed a backfill's larger batch keeps to SHELFSIGHT_ANALYSIS_BATCH."""
    global _pool
    if _pool is None:
        largest = max(batch_size(), backfill_batch_size())
        _pool = ThreadPoolExecutor(max_workers=max(1, largest - 1), thread_name_prefix="analysis")
    return _pool
