"""State changes of tagging: analysing images, staff decisions on tags, flags, upkeep.

Writing an analysis's tags lives in tagging.machine_tags.

The model call always happens outside any transaction this module opens; the writes that
follow it are one short transaction, so SQLite's single writer is held for milliseconds.
"""

import base64
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Product, ProductImage
from catalog.services import set_product_status
from llm import gateway
from llm.exceptions import GatewayError
from llm.types import ChatRequest
from tagging import vocabulary
from tagging.analysis.local import ANALYSER_NAME as LOCAL_ANALYSER
from tagging.analysis.local import MODEL_NAME as LOCAL_MODEL
from tagging.analysis.local import analyse_locally, with_this_products_text
from tagging.analysis.parsing import Findings, MalformedModelOutput, parse_answer
from tagging.analysis.prepare import MIN_MODEL_IMAGE_SIDE, MODEL_IMAGE_SIDE, prepare_image
from tagging.analysis.prompts import PROMPT_VERSION, messages_for
from tagging.analysis.quality import QualityReport, measure_quality
from tagging.analysis.schema import schema_for, schema_name
from tagging.events import announce_tags_changed
from tagging.machine_tags import APPLY_MEDIUM_AT, TagWrites, apply_machine_tags, record_tag_event, status_for
from tagging.models import Flag, ImageAnalysis, ProductTag, ProductTagEvent, Tag, TagSynonym

logger = logging.getLogger(__name__)

ROUTE = "vision-tagging"
PROVIDER_ANALYSER = "provider"
MAX_ANALYSIS_ATTEMPTS = 3
MAX_OUTPUT_TOKENS = 400
# Typical usage of one full analysis, measured by bench/tagging_cost.py (see BENCHMARKS.md).
TYPICAL_INPUT_TOKENS = 445
TYPICAL_OUTPUT_TOKENS = 45

_TAG_WORKFLOWS = {ImageAnalysis.Workflow.FULL, ImageAnalysis.Workflow.ATTRIBUTES}
_QUALITY_WORKFLOWS = {ImageAnalysis.Workflow.FULL, ImageAnalysis.Workflow.QUALITY}
_PROHIBITED_WORKFLOWS = {ImageAnalysis.Workflow.FULL, ImageAnalysis.Workflow.PROHIBITED}


def quality_flag_below() -> float:
    return float(getattr(settings, "SHELFSIGHT_QUALITY_FLAG_BELOW", 4.0))


def prohibited_flag_at() -> float:
    return float(getattr(settings, "SHELFSIGHT_PROHIBITED_FLAG_AT", 0.7))


# --- analysis ------------------------------------------------------------------------------


@dataclass
class _Outcome:
    findings: Findings | None
    quality: QualityReport | None
    fields: dict
    error: str = ""
    error_class: str = ""
    held_calls: list = field(default_factory=list)  # LLMCall rows to write with it (gateway.holding_calls)


def analyze_image(
    *, image_id: int, workflow: str = "full", force: bool = False, requested_by=None, route: str = ROUTE
) -> ImageAnalysis | None:
    """Analyse one image and apply what was found; returns the analysis (None if the image is gone).

    Idempotent: without ``force`` a succeeded analysis of this image and workflow is returned
    as it is. An image whose bytes were analysed before reuses that analysis at no cost.
    Model and gateway problems end as a failed analysis with ``error`` and ``error_class``.
    ``route`` is the gateway route the model call goes down (staff may pick another when
    re-tagging); it is recorded on the analysis.
    """
    if workflow not in ImageAnalysis.Workflow.values:
        raise ValueError(f"Unknown workflow {workflow!r}.")
    if not force:
        settled = _settled_analysis(image_id=image_id, workflow=workflow)
        if settled is not None:
            return settled
    image = ProductImage.objects.select_related("product").filter(pk=image_id).first()
    if image is None:
        return None
    analysis, claimed = _claim(image=image, workflow=workflow, force=force, requested_by=requested_by, route=route)
    if not claimed:
        return analysis
    try:
        outcome = _reused(analysis=analysis, image=image, workflow=workflow) if not analysis.force else None
        if outcome is None:
            outcome = _analyse(analysis=analysis, image=image, workflow=workflow)
    except Exception as error:  # recorded on the analysis; a task that raises would only be retried
        logger.exception("Analysis %s of image %s failed unexpectedly", analysis.pk, image.pk)
        outcome = _Outcome(
            findings=None, quality=None, fields={}, error=str(error)[:2000], error_class=type(error).__name__
        )
    return _record(analysis=analysis, image=image, workflow=workflow, outcome=outcome)


def queue_analysis(
    *, image_id: int, workflow: str = "full", force: bool = False, requested_by=None, route: str = ROUTE
) -> ImageAnalysis | None:
    """Record that an analysis was asked for (and down which route), so a lost task is found
    by the sweep and re-run the same way.

    Returns the queued row, or None when nothing needs queueing (already done, or pending).
    """
    needless = [ImageAnalysis.Status.QUEUED, ImageAnalysis.Status.RUNNING]  # already pending
    if not force:
        needless.append(ImageAnalysis.Status.SUCCEEDED)
    if not _needs_analysis(image_id=image_id, workflow=workflow, needless=needless):
        return None  # gone, or nothing to do
    return ImageAnalysis.objects.create(
        image_id=image_id,
        workflow=workflow,
        force=force,
        requested_by=requested_by,
        route=route,
        status=ImageAnalysis.Status.QUEUED,
    )


_ANALYSIS_TABLE = ImageAnalysis._meta.db_table
_IMAGE_TABLE = ProductImage._meta.db_table


def _needs_analysis(*, image_id: int, workflow: str, needless: list[str]) -> bool:
    """Whether the image exists and has no analysis of the workflow in a ``needless`` status.

    One query on every upload; written out, since the equivalent Exists() queryset took more
    CPU to build than the upload's other queries together.
    """
    marks = ", ".join(["%s"] * len(needless))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_IMAGE_TABLE} WHERE id = %s AND NOT EXISTS (SELECT 1 FROM {_ANALYSIS_TABLE} "  # noqa: S608 - names only
            f"WHERE image_id = %s AND workflow = %s AND status IN ({marks}))",
            [image_id, image_id, workflow, *needless],
        )
        return cursor.fetchone() is not None


def _settled_analysis(*, image_id: int, workflow: str) -> ImageAnalysis | None:
    """What makes a plain run needless, from one query: the latest succeeded analysis (plain
    queued duplicates of it are dropped), else one running now; None if the image needs one.

    Most tasks of a busy queue end here: another task took their image along. Hence the SQL
    written out: building the queryset cost twice the CPU of running it.
    """
    statuses = [ImageAnalysis.Status.SUCCEEDED, ImageAnalysis.Status.RUNNING, ImageAnalysis.Status.QUEUED]
    rows = list(
        ImageAnalysis.objects.raw(
            f"SELECT * FROM {_ANALYSIS_TABLE} WHERE image_id = %s AND workflow = %s AND status IN (%s, %s, %s)",  # noqa: S608 - names only
            [image_id, workflow, *statuses],
        )
    )
    succeeded = [row for row in rows if row.status == ImageAnalysis.Status.SUCCEEDED]
    if succeeded:
        needless = [row.pk for row in rows if row.status == ImageAnalysis.Status.QUEUED and not row.force]
        if needless:
            ImageAnalysis.objects.filter(pk__in=needless, status=ImageAnalysis.Status.QUEUED).delete()
        return max(succeeded, key=lambda row: (row.finished_at or row.created_at, row.pk))
    return next((row for row in rows if row.status == ImageAnalysis.Status.RUNNING), None)


def _claim(*, image: ProductImage, workflow: str, force: bool, requested_by, route: str) -> tuple[ImageAnalysis, bool]:
    """Take the queued row for this image and workflow, or start a new one; (analysis, claimed).

    A row already running elsewhere is returned unclaimed: the same image is never sent to
    the model twice at once. The conditional UPDATE is the claim (SQLite has no row locks).
    """
    now = timezone.now()
    running = _running_analysis(image=image, workflow=workflow)
    if running is not None:
        return running, False
    for queued in ImageAnalysis.objects.filter(
        image=image, workflow=workflow, status=ImageAnalysis.Status.QUEUED
    ).order_by("created_at", "id"):
        taken = ImageAnalysis.objects.filter(pk=queued.pk, status=ImageAnalysis.Status.QUEUED).update(
            status=ImageAnalysis.Status.RUNNING,
            started_at=now,
            attempts=queued.attempts + 1,
            force=queued.force or force,
            # The route staff chose when queueing wins over a default one passed by a plain run.
            route=queued.route if queued.route and route == ROUTE else route,
        )
        if taken:
            queued.refresh_from_db()
            if requested_by is not None and queued.requested_by_id is None:
                queued.requested_by = requested_by
                queued.save(update_fields=["requested_by"])
            return queued, True
    # Another worker may have claimed the queued row since the first look (taking it along with
    # its own batch): what it runs or ran answers for this task too, so no second row is started.
    taken_meanwhile = (
        _running_analysis(image=image, workflow=workflow)
        if force
        else _settled_analysis(image_id=image.pk, workflow=workflow)
    )
    if taken_meanwhile is not None:
        return taken_meanwhile, False
    analysis = ImageAnalysis.objects.create(
        image=image,
        workflow=workflow,
        status=ImageAnalysis.Status.RUNNING,
        force=force,
        attempts=1,
        started_at=now,
        requested_by=requested_by,
        route=route,
    )
    return analysis, True


def _running_analysis(*, image: ProductImage, workflow: str) -> ImageAnalysis | None:
    return ImageAnalysis.objects.filter(image=image, workflow=workflow, status=ImageAnalysis.Status.RUNNING).first()


def _reused(*, analysis: ImageAnalysis, image: ProductImage, workflow: str) -> _Outcome | None:
    """The outcome of an earlier analysis of the same bytes, at zero cost; None if there is none."""
    if workflow == ImageAnalysis.Workflow.QUALITY:
        return None
    sources = _earlier_analyses(shas=[image.sha256], workflow=workflow, route=analysis.route, exclude=[analysis.pk])
    source = sources.get(image.sha256)
    return _reused_outcome(source=source, analysis=analysis, image=image) if source is not None else None


_IMAGES_PER_READ = 500


def _earlier_analyses(*, shas: list[str], workflow: str, route: str, exclude: list[int]) -> dict[str, ImageAnalysis]:
    """{sha256: the latest original succeeded analysis of those bytes by the analyser in use}.

    Read by image only: the images with those bytes, their analyses' few columns, then the
    chosen rows. Status and reuse are checked here rather than in SQL because a planner
    without fresh statistics (a bulk backfill outruns autovacuum) answered those conditions
    from the status index, scanning every succeeded analysis once per batch.
    """
    images = dict(ProductImage.objects.filter(sha256__in=shas).values_list("id", "sha256"))
    if not images:
        return {}
    analyser = PROVIDER_ANALYSER if gateway.is_configured(route=route or ROUTE) else LOCAL_ANALYSER
    candidates = ImageAnalysis.objects.filter(workflow=workflow, analyser=analyser).values_list(
        "pk", "image_id", "status", "reused_from_id", "finished_at", "created_at"
    )
    image_ids = list(images)
    newest: dict[str, tuple] = {}
    # In slices: bytes shared by a whole catalog (a placeholder photo) must not exceed SQLite's
    # limit on query parameters.
    for start in range(0, len(image_ids), _IMAGES_PER_READ):
        for pk, image_id, status, reused_from_id, finished_at, created_at in candidates.filter(
            image_id__in=image_ids[start : start + _IMAGES_PER_READ]
        ):
            if status != ImageAnalysis.Status.SUCCEEDED or reused_from_id is not None or pk in exclude:
                continue
            sha, rank = images[image_id], (finished_at or created_at, pk)
            if sha not in newest or rank > newest[sha]:
                newest[sha] = rank
    rows = ImageAnalysis.objects.in_bulk([pk for _when, pk in newest.values()])
    return {sha: rows[pk] for sha, (_when, pk) in newest.items()}


def _reused_outcome(*, source: ImageAnalysis, analysis: ImageAnalysis, image: ProductImage) -> _Outcome:
    quality = None
    if source.quality_report:
        report = source.quality_report
        quality = QualityReport(
            score=source.quality_score or 0.0,
            sharpness=report.get("sharpness", 0.0),
            highlights_clipped=report.get("highlights_clipped", 0.0),
            shadows_clipped=report.get("shadows_clipped", 0.0),
            border_deviation=report.get("border_deviation", 0.0),
            width=report.get("width", image.width),
            height=report.get("height", image.height),
            parts=report.get("parts", {}),
            reasons=report.get("reasons", []),
        )
    findings = Findings.from_json(source.result)
    if source.analyser == LOCAL_ANALYSER:  # what it read from text belongs to its product, not to the bytes
        findings = with_this_products_text(findings, workflow=source.workflow, product=image.product)
    return _Outcome(
        findings=findings,
        quality=quality,
        fields={
            "reused_from": source,
            "analyser": source.analyser,
            "route": analysis.route or source.route,
            "provider": source.provider,
            "model": source.model,
            "arm": source.arm,
            "prompt_version": source.prompt_version,
            "raw_response": source.raw_response,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": Decimal("0"),
            "latency_ms": 0.0,
        },
    )


def _analyse(*, analysis: ImageAnalysis, image: ProductImage, workflow: str) -> _Outcome:
    with image.image.open("rb") as handle:
        content = handle.read()
    prepared = prepare_image(
        content,
        max_side=getattr(settings, "SHELFSIGHT_MODEL_IMAGE_SIDE", MODEL_IMAGE_SIDE),
        min_side=getattr(settings, "SHELFSIGHT_MODEL_IMAGE_MIN_SIDE", MIN_MODEL_IMAGE_SIDE),
    )
    quality = measure_quality(prepared.pixels, original_size=(image.width, image.height))
    if workflow == ImageAnalysis.Workflow.QUALITY:
        return _Outcome(findings=Findings(), quality=quality, fields={"analyser": LOCAL_ANALYSER, "model": LOCAL_MODEL})
    if not gateway.is_configured(route=analysis.route or ROUTE):
        findings = analyse_locally(prepared.pixels, workflow=workflow, product=image.product)
        return _Outcome(findings=findings, quality=quality, fields={"analyser": LOCAL_ANALYSER, "model": LOCAL_MODEL})
    return _ask_model(analysis=analysis, image=image, workflow=workflow, jpeg=prepared.jpeg, quality=quality)


def _ask_model(
    *, analysis: ImageAnalysis, image: ProductImage, workflow: str, jpeg: bytes, quality: QualityReport
) -> _Outcome:
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    route = analysis.route or ROUTE
    request = ChatRequest(
        route=route,
        messages=messages_for(workflow=workflow, image_data_url=data_url),
        response_schema=schema_for(workflow),
        schema_name=schema_name(workflow),
        routing_key=image.sha256,
        needs_vision=True,
        max_output_tokens=MAX_OUTPUT_TOKENS,
        metadata={
            "image_id": image.pk,
            "analysis_id": analysis.pk,
            "workflow": workflow,
            "prompt_version": PROMPT_VERSION,
        },
    )
    fields = {"analyser": PROVIDER_ANALYSER, "route": route, "prompt_version": PROMPT_VERSION}
    try:
        result = gateway.complete(request)
    except GatewayError as error:
        return _Outcome(
            findings=None, quality=quality, fields=fields, error=str(error)[:2000], error_class=type(error).__name__
        )
    fields |= {
        "provider": result.provider,
        "model": result.model,
        "arm": result.arm,
        "fallback_reason": (result.fallback_reason or "")[:200],
        "llm_request_id": result.request_id,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "cost_usd": result.cost_usd,
        "latency_ms": result.latency_ms,
        "raw_response": result.text,
    }
    try:
        findings = parse_answer(result.text, workflow=workflow)
    except MalformedModelOutput as error:
        return _Outcome(
            findings=None, quality=quality, fields=fields, error=str(error), error_class="MalformedModelOutput"
        )
    return _Outcome(findings=findings, quality=quality, fields=fields)


def _record(
    *,
    analysis: ImageAnalysis,
    image: ProductImage,
    workflow: str,
    outcome: _Outcome,
    product_tags: list[ProductTag] | None = None,
    tag_writes: TagWrites | None = None,
) -> ImageAnalysis:
    """Write the outcome. ``product_tags``, when given, are the product's tag rows as they stand
    (read once for a whole batch); they are kept current with what this writes. With
    ``tag_writes`` the new tags and events are left in it for the caller to save, the analysis
    row too (its fields set, not saved), and the caller's transaction is the only one (see
    tagging.batches.record_together)."""
    for name, value in outcome.fields.items():
        setattr(analysis, name, value)
    if outcome.quality is not None:
        analysis.quality_score = outcome.quality.score
        analysis.quality_report = outcome.quality.as_json()
    analysis.finished_at = timezone.now()
    if outcome.findings is None:
        analysis.status = ImageAnalysis.Status.FAILED
        analysis.error = outcome.error
        analysis.error_class = outcome.error_class
        if tag_writes is None:
            analysis.save()
        return analysis
    analysis.status = ImageAnalysis.Status.SUCCEEDED
    analysis.result = outcome.findings.as_json()
    analysis.error = ""
    analysis.error_class = ""
    with transaction.atomic() if tag_writes is None else nullcontext():
        if tag_writes is None:
            analysis.save()
        changed = False
        if workflow in _TAG_WORKFLOWS:
            changed |= apply_machine_tags(
                analysis=analysis, image=image, findings=outcome.findings, current=product_tags, writes=tag_writes
            )
        if workflow in _QUALITY_WORKFLOWS and outcome.quality is not None:
            _flag_quality(analysis=analysis, image=image, quality=outcome.quality)
        if workflow in _PROHIBITED_WORKFLOWS:
            changed |= _flag_prohibited(analysis=analysis, image=image, findings=outcome.findings)
        if changed:
            announce_tags_changed(product_ids=[image.product_id])
    return analysis


# --- flags ---------------------------------------------------------------------------------


def _flag_quality(*, analysis: ImageAnalysis, image: ProductImage, quality: QualityReport) -> None:
    if quality.score >= quality_flag_below():
        return
    reason = (quality.reasons[0] if quality.reasons else "low quality")[:40]
    # Staff who cleared this flag for this image have decided; a re-run must not reopen it.
    if Flag.objects.filter(image=image, kind=Flag.Kind.QUALITY, reason=reason).exists():
        return
    Flag.objects.create(
        product_id=image.product_id,
        image=image,
        analysis=analysis,
        kind=Flag.Kind.QUALITY,
        reason=reason,
        confidence=round(1 - quality.score / 10, 3),
        details=quality.as_json(),
    )


def _flag_prohibited(*, analysis: ImageAnalysis, image: ProductImage, findings: Findings) -> bool:
    threshold = prohibited_flag_at()
    raised = []
    for signal, confidence in sorted(findings.prohibited.items()):
        if confidence < threshold:
            continue
        if Flag.objects.filter(image=image, kind=Flag.Kind.PROHIBITED, reason=signal).exists():
            continue
        raised.append((signal, confidence))
    if not raised:
        return False
    product = Product.objects.get(pk=image.product_id)
    status_before = product.status
    for signal, confidence in raised:
        details = {"model": analysis.model, "analysis_id": analysis.pk}
        if status_before != Product.Status.HELD:
            details["status_before"] = status_before
        Flag.objects.create(
            product=product,
            image=image,
            analysis=analysis,
            kind=Flag.Kind.PROHIBITED,
            reason=signal,
            confidence=confidence,
            details=details,
        )
    if product.status != Product.Status.HELD:
        names = ", ".join(signal for signal, _ in raised)
        set_product_status(product=product, status=Product.Status.HELD, reason=f"Possible prohibited content: {names}.")
        return True
    return False


def clear_flag(*, flag_id: int, reviewer) -> Flag:
    """Staff clear a flag; the product is released when no open prohibited flag remains."""
    with transaction.atomic():
        flag = Flag.objects.select_related("product").get(pk=flag_id)
        if flag.status == Flag.Status.OPEN:
            flag.status = Flag.Status.CLEARED
            flag.cleared_by = reviewer
            flag.cleared_at = timezone.now()
            flag.save(update_fields=["status", "cleared_by", "cleared_at"])
        product = flag.product
        still_open = Flag.objects.filter(product=product, kind=Flag.Kind.PROHIBITED, status=Flag.Status.OPEN).exists()
        if flag.kind == Flag.Kind.PROHIBITED and not still_open and product.status == Product.Status.HELD:
            set_product_status(product=product, status=_status_before_hold(product))
            announce_tags_changed(product_ids=[product.pk])
    return flag


def _status_before_hold(product: Product) -> str:
    for details in Flag.objects.filter(product=product, kind=Flag.Kind.PROHIBITED).values_list("details", flat=True):
        status = (details or {}).get("status_before")
        if status in Product.Status.values and status != Product.Status.HELD:
            return status
    return Product.Status.ACTIVE


# --- staff decisions -----------------------------------------------------------------------


def approve_tags(*, product_tag_ids, reviewer) -> int:
    """Apply the product tags and lock them against machines; returns how many changed."""
    return _decide(product_tag_ids, reviewer, ProductTag.Status.APPLIED, ProductTagEvent.Action.APPROVED)


def reject_tags(*, product_tag_ids, reviewer) -> int:
    """Reject the product tags; a machine never re-applies a rejected tag."""
    return _decide(product_tag_ids, reviewer, ProductTag.Status.REJECTED, ProductTagEvent.Action.REJECTED)


def _decide(product_tag_ids, reviewer, status: str, action: str) -> int:
    now = timezone.now()
    decided, products = 0, set()
    with transaction.atomic():
        for row in ProductTag.objects.filter(pk__in=list(product_tag_ids)).select_related("analysis"):
            if row.status == status and row.reviewed_at is not None:
                continue
            before = row.status
            row.status, row.reviewed_by, row.reviewed_at = status, reviewer, now
            row.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
            record_tag_event(row, action, analysis=row.analysis, actor=reviewer, before=before)
            decided += 1
            if ProductTag.Status.APPLIED in (before, status):
                products.add(row.product_id)
        announce_tags_changed(product_ids=products)
    return decided


def undo_decisions(*, product_tag_ids, reviewer) -> int:
    """Send tags a reviewer just decided back to the review queue; returns how many went back.

    Only a tag whose latest event is a staff decision taken on a waiting tag is sent back, so
    nothing that happened after the decision (a merge, another reviewer) is rolled back.
    """
    decisions = {ProductTagEvent.Action.APPROVED, ProductTagEvent.Action.REJECTED}
    restored, products = 0, set()
    with transaction.atomic():
        for row in ProductTag.objects.filter(pk__in=list(product_tag_ids)).select_related("analysis"):
            last = row.events.order_by("-created_at", "-id").first()
            if (
                last is None
                or last.action not in decisions
                or last.status_before != ProductTag.Status.NEEDS_REVIEW
                or last.status_after != row.status
            ):
                continue
            before = row.status
            row.status, row.reviewed_by, row.reviewed_at = ProductTag.Status.NEEDS_REVIEW, None, None
            row.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
            record_tag_event(row, ProductTagEvent.Action.UNDONE, analysis=row.analysis, actor=reviewer, before=before)
            restored += 1
            if before == ProductTag.Status.APPLIED:
                products.add(row.product_id)
        announce_tags_changed(product_ids=products)
    return restored


def add_human_tag(*, product: Product, tag: Tag, actor) -> ProductTag:
    """Staff put ``tag`` on ``product``: applied, full confidence, never touched by machines."""
    now = timezone.now()
    with transaction.atomic():
        row, created = ProductTag.objects.get_or_create(
            product=product,
            tag=tag,
            defaults={
                "confidence": 1.0,
                "band": ProductTag.Band.HIGH,
                "source": ProductTag.Source.HUMAN,
                "status": ProductTag.Status.APPLIED,
                "reviewed_by": actor,
                "reviewed_at": now,
            },
        )
        before = "" if created else row.status
        if not created:
            row.source, row.status, row.confidence, row.band = (
                ProductTag.Source.HUMAN,
                ProductTag.Status.APPLIED,
                1.0,
                ProductTag.Band.HIGH,
            )
            row.reviewed_by, row.reviewed_at = actor, now
            row.save()
        record_tag_event(row, ProductTagEvent.Action.ADDED, actor=actor, before=before)
        announce_tags_changed(product_ids=[product.pk])
    return row


def accept_proposed_tag(*, tag: Tag, actor, parent: Tag | None = None) -> Tag:
    """Make a proposed value canonical; its waiting machine tags confident enough are applied."""
    with transaction.atomic():
        tag.status = Tag.Status.CANONICAL
        if parent is not None:
            tag.parent = parent
        tag.save(update_fields=["status", "parent"])
        products = set()
        waiting = ProductTag.objects.filter(
            tag=tag,
            source=ProductTag.Source.AI,
            status=ProductTag.Status.NEEDS_REVIEW,
            reviewed_at__isnull=True,
            confidence__gte=APPLY_MEDIUM_AT,
        ).select_related("analysis")
        for row in waiting:
            before = row.status
            row.status, row.band = status_for(confidence=row.confidence, tag=tag)
            row.save(update_fields=["status", "band", "updated_at"])
            record_tag_event(
                row,
                ProductTagEvent.Action.UPDATED,
                analysis=row.analysis,
                actor=actor,
                before=before,
                note="The proposed tag was accepted into the vocabulary.",
            )
            products.add(row.product_id)
        announce_tags_changed(product_ids=products)
    return tag


class TagMergeRefused(ValueError):
    """A tag can only be merged into another tag of the same facet."""


def merge_tags(*, source: Tag, target: Tag, actor) -> int:
    """Move every product tag from ``source`` to ``target`` and make ``source`` a synonym of it.

    Where a product already has ``target`` the stronger decision is kept (a human one wins)
    and the moved row's history is attached to it. Returns how many product tags moved.
    """
    if source.pk == target.pk or source.facet != target.facet:
        raise TagMergeRefused(f"{source} cannot be merged into {target}: only into another tag of the same facet.")
    moved, products = 0, set()
    with transaction.atomic():
        for row in ProductTag.objects.filter(tag=source).select_related("analysis"):
            keeper = ProductTag.objects.filter(product_id=row.product_id, tag=target).first()
            if keeper is None:
                before = row.status
                row.tag = target
                row.save(update_fields=["tag", "updated_at"])
                record_tag_event(
                    row, ProductTagEvent.Action.MERGED, actor=actor, before=before, note=f"From {source.name}."
                )
            else:
                if row.is_human_decision and not keeper.is_human_decision:
                    for name in ("status", "source", "confidence", "band", "reviewed_by", "reviewed_at"):
                        setattr(keeper, name, getattr(row, name))
                    keeper.save()
                ProductTagEvent.objects.filter(product_tag=row).update(product_tag=keeper)
                record_tag_event(
                    keeper,
                    ProductTagEvent.Action.MERGED,
                    actor=actor,
                    before=keeper.status,
                    note=f"Merged {source.name} into {target.name}.",
                )
                row.delete()
            moved += 1
            products.add(row.product_id)
        TagSynonym.objects.filter(tag=source).update(tag=target)
        Tag.objects.filter(parent=source).update(parent=target)
        source_name = vocabulary.normalise(source.name)
        source.delete()
        if source_name:
            TagSynonym.objects.get_or_create(facet=target.facet, text=source_name, defaults={"tag": target})
        announce_tags_changed(product_ids=products)
    return moved


# --- queueing and upkeep -------------------------------------------------------------------


def enqueue_retag(*, image_ids, workflow: str = "full", requested_by=None, route: str = ROUTE) -> int:
    """Queue a forced analysis of each image down ``route`` (after commit); returns how many were queued."""
    from tagging.tasks import dispatch_analysis

    queued = 0
    for image_id in dict.fromkeys(image_ids):
        analysis = queue_analysis(
            image_id=image_id, workflow=workflow, force=True, requested_by=requested_by, route=route
        )
        if analysis is not None:
            transaction.on_commit(
                lambda image_id=image_id: dispatch_analysis(
                    image_id=image_id, workflow=workflow, force=True, route=route
                )
            )
            queued += 1
    return queued


def estimate_analysis_cost(*, image_count: int, route: str = ROUTE) -> Decimal:
    """What analysing ``image_count`` images would cost now; zero when the local analyser would run."""
    if image_count <= 0 or not gateway.is_configured(route=route):
        return Decimal("0")
    # Priced as one total so rounding to the microdollar happens once, not per image.
    return gateway.estimate_cost(
        route=route,
        input_tokens=TYPICAL_INPUT_TOKENS * image_count,
        output_tokens=TYPICAL_OUTPUT_TOKENS * image_count,
    )


def sweep_stuck_analyses(*, older_than_seconds: int) -> int:
    """Re-queue analyses queued or running for longer than ``older_than_seconds`` (lost tasks).

    Those that already used MAX_ANALYSIS_ATTEMPTS are failed instead. Plain analyses share
    tasks, one per SHELFSIGHT_ANALYSIS_BATCH of them, each task naming the others it answers
    for (see tagging.batches), so sweeping a long backlog adds little to the queue. Returns how
    many were re-queued.
    """
    from tagging.batches import dispatch_group, task_groups

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stuck = ImageAnalysis.objects.filter(
        Q(status=ImageAnalysis.Status.RUNNING, started_at__lt=cutoff)
        | Q(status=ImageAnalysis.Status.QUEUED, created_at__lt=cutoff)
    ).order_by("created_at", "id")
    requeued: list[ImageAnalysis] = []
    for analysis in stuck:
        if analysis.attempts >= MAX_ANALYSIS_ATTEMPTS:
            ImageAnalysis.objects.filter(pk=analysis.pk, status=analysis.status).update(
                status=ImageAnalysis.Status.FAILED,
                error=f"Gave up after {analysis.attempts} attempts; the worker never finished.",
                error_class="AnalysisStuck",
                finished_at=timezone.now(),
            )
            continue
        reset = ImageAnalysis.objects.filter(pk=analysis.pk, status=analysis.status).update(
            status=ImageAnalysis.Status.QUEUED, created_at=timezone.now(), started_at=None
        )
        if reset:
            requeued.append(analysis)
    for group in task_groups(requeued):
        dispatch_group(group)
    return len(requeued)
