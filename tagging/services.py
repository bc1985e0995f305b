"""State changes of tagging: analysing images, staff decisions on tags, flags.

The analysis path reads top to bottom (docs/tagging.md):
  enqueue    tagging.queueing: queued rows, then a task carrying their ids
  run        run_analyses: claim those rows → prepare, gateway, parse (a batch's images on a
             few threads) → record every outcome in one transaction
  retry      a failed analysis with a cause a retry may cure is queued again by itself
             (retry_due_analyses, every minute), then stays failed with its reason.

The model calls happen outside any transaction; the writes that follow are one short one.
Writing an analysis's tags lives in tagging.machine_tags.
"""

import base64
import gc
import logging
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Product, ProductImage
from catalog.services import set_product_status
from llm import gateway
from llm.exceptions import GatewayError, ProviderUnavailable
from llm.types import ChatRequest
from tagging import queueing, vocabulary
from tagging.analysis.local import ANALYSER_NAME as LOCAL_ANALYSER
from tagging.analysis.local import MODEL_NAME as LOCAL_MODEL
from tagging.analysis.local import analyse_locally, with_this_products_text
from tagging.analysis.parsing import Findings, MalformedModelOutput, parse_answer
from tagging.analysis.prepare import prepare_image
from tagging.analysis.prompts import PROMPT_VERSION, messages_for
from tagging.analysis.quality import QualityReport, measure_quality
from tagging.analysis.schema import schema_for, schema_name
from tagging.events import announce_tags_changed
from tagging.machine_tags import (
    APPLY_MEDIUM_AT,
    TagWrites,
    apply_machine_tags,
    propose_new_words,
    record_tag_event,
    status_for,
)
from tagging.models import Flag, ImageAnalysis, ProductTag, ProductTagEvent, Tag, TagSynonym

logger = logging.getLogger(__name__)

ROUTE = queueing.ROUTE
PROVIDER_ANALYSER = "provider"
MAX_OUTPUT_TOKENS = 400
# Typical usage of one full analysis, measured by bench/tagging_cost.py (see BENCHMARKS.md).
TYPICAL_INPUT_TOKENS = 480
TYPICAL_OUTPUT_TOKENS = 45
# A batch's model calls wait on the provider, not the CPU: this many run side by side.
ANALYSIS_THREADS = 8
# Causes a later attempt may cure. ProviderUnavailable covers rate limits, timeouts, 5xx, open
# circuits and unusable answers (the gateway tried every model of the route); a run that never
# finished (its worker was killed) is AnalysisInterrupted. A budget cap, a missing route or a
# broken image are not cured by waiting: they stay failed until staff act.
RETRYABLE_ERRORS = frozenset({ProviderUnavailable.__name__, MalformedModelOutput.__name__, "AnalysisInterrupted"})
# Seconds from a failed attempt to the next; one retry per entry, then it stays failed.
RETRY_DELAYS = (60, 600, 3600)
# Photos whose locally computed quality score (0–10) is below this get a flag for staff.
QUALITY_FLAG_BELOW = 4.0
# A prohibited-content signal at or above this confidence (0–1) holds the product until cleared.
PROHIBITED_FLAG_AT = 0.7

TAG_WORKFLOWS = {ImageAnalysis.Workflow.FULL, ImageAnalysis.Workflow.ATTRIBUTES}
QUALITY_WORKFLOWS = {ImageAnalysis.Workflow.FULL, ImageAnalysis.Workflow.QUALITY}
PROHIBITED_WORKFLOWS = {ImageAnalysis.Workflow.FULL, ImageAnalysis.Workflow.PROHIBITED}


def max_attempts() -> int:
    return 1 + len(RETRY_DELAYS)


def lease_seconds() -> int:
    """How long a run may hold an analysis: django-q2's task timeout, after which it kills the
    worker. A running analysis older than this has no live run; another may take it over."""
    return int(settings.Q_CLUSTER.get("timeout") or 300)


# --- analysis ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run of an analysis produced, before it is written."""

    findings: Findings | None
    quality: QualityReport | None
    fields: dict
    error: str = ""
    error_class: str = ""


def analyze_image(
    *, image_id: int, workflow: str = "full", force: bool = False, requested_by=None, route: str = ROUTE
) -> ImageAnalysis | None:
    """Analyse one image now, in this thread, as a batch of one; returns its analysis (None if
    the image is gone).

    Without ``force`` an image analysed already returns that analysis unchanged; one whose
    analysis is pending (queued or running) gets it run here if it is queued, else returned
    as it stands: the image is never sent to the model twice at once.
    """
    if workflow not in ImageAnalysis.Workflow.values:
        raise ValueError(f"Unknown workflow {workflow!r}.")
    queued = queueing.enqueue_analyses(
        image_ids=[image_id], workflow=workflow, force=force, requested_by=requested_by, route=route
    )
    # At most one analysis of an image and workflow is pending, so the default ordering is not needed.
    pending = queued or list(ImageAnalysis.objects.filter(image_id=image_id, workflow=workflow).queued().order_by())
    ran = run_analyses(analysis_ids=[analysis.pk for analysis in pending])
    if ran:
        return ran[0]
    return ImageAnalysis.objects.filter(image_id=image_id, workflow=workflow).order_by("-created_at", "-id").first()


def run_analyses(*, analysis_ids: Sequence[int]) -> list[ImageAnalysis]:
    """Run the analyses ``analysis_ids`` still to do and record their outcomes; returns those run.

    Still to do: queued, or running with an expired lease (the run that took it was killed;
    a task django-q2 re-delivers finishes it). Those done, or running in a live run, are left
    alone. Idempotent: a second call with the same ids runs nothing.
    """
    claimed = _claim(analysis_ids)
    if not claimed:
        return []
    earlier = _earlier_analyses(claimed)
    sources = [earlier.get(analysis.pk) for analysis in claimed]
    # A lone image runs on the task's own thread; a batch's model calls wait side by side.
    if len(claimed) == 1:
        outcomes = [_outcome(claimed[0], sources[0])]
    else:
        outcomes = list(_threads().map(_outcome_in_thread, claimed, sources))
    _record(list(zip(claimed, outcomes, strict=True)))
    return claimed


def _claim(analysis_ids: Sequence[int]) -> list[ImageAnalysis]:
    """Move the analyses still to do to running under a new claim; returns them.

    One conditional UPDATE: a row two runs race for is taken by exactly one of them."""
    now, claim = timezone.now(), uuid.uuid4()
    abandoned = Q(
        status=ImageAnalysis.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=lease_seconds()),
        attempts__lt=max_attempts(),
    )
    to_do = ImageAnalysis.objects.filter(pk__in=list(analysis_ids))
    to_do.filter(Q(status=ImageAnalysis.Status.QUEUED) | abandoned).update(
        status=ImageAnalysis.Status.RUNNING,
        claim=claim,
        started_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
    )
    rows = ImageAnalysis.objects.filter(pk__in=list(analysis_ids), claim=claim, status=ImageAnalysis.Status.RUNNING)
    return list(rows.select_related("image__product").order_by("pk"))


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """One pool per process, started on first use (after django-q2 forked the worker), so its
    threads and their database connections serve batch after batch."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=ANALYSIS_THREADS, thread_name_prefix="analysis")
        return _pool


def release_analysis_threads() -> None:
    """Stop the pool: its threads end, and collecting what they held closes their database
    connections (a test database cannot be dropped while they are open)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
        gc.collect()


def _outcome_in_thread(analysis: ImageAnalysis, source: ImageAnalysis | None) -> Outcome:
    # A pool thread keeps its database connection between batches; drop it if it went bad or
    # stale, as django-q2 does for the task's own thread before every task.
    close_old_connections()
    return _outcome(analysis, source)


def _outcome(analysis: ImageAnalysis, source: ImageAnalysis | None) -> Outcome:
    """The analysis's outcome: that of ``source``, an earlier analysis of the same bytes (free),
    else a fresh one."""
    try:
        if source is not None:
            return _reused_outcome(source=source, analysis=analysis)
        return _analyse(analysis)
    except Exception as error:  # recorded on the analysis: a task that raised would only be re-run
        logger.exception("Analysis %s of image %s failed unexpectedly", analysis.pk, analysis.image_id)
        return Outcome(
            findings=None, quality=None, fields={}, error=str(error)[:2000], error_class=type(error).__name__
        )


def _earlier_analyses(analyses: Sequence[ImageAnalysis]) -> dict[int, ImageAnalysis]:
    """{analysis id: the latest original succeeded analysis of the same bytes and workflow by the
    analyser now in use}, read in one query for a batch. Forced analyses and quality checks
    have none: they are run afresh."""
    wanted = [
        analysis for analysis in analyses if not analysis.force and analysis.workflow != ImageAnalysis.Workflow.QUALITY
    ]
    if not wanted:
        return {}
    analysers = {
        route: PROVIDER_ANALYSER if gateway.is_configured(route=route) else LOCAL_ANALYSER
        for route in {analysis.route or ROUTE for analysis in wanted}
    }
    same_bytes = ProductImage.objects.filter(sha256__in={analysis.image.sha256 for analysis in wanted}).values("pk")
    candidates = (
        ImageAnalysis.objects.succeeded()
        .filter(
            image_id__in=same_bytes,
            workflow__in={analysis.workflow for analysis in wanted},
            analyser__in=set(analysers.values()),
            reused_from__isnull=True,
        )
        .annotate(sha256=F("image__sha256"))
        .order_by("-finished_at", "-id")
    )
    latest: dict[tuple[str, str, str], ImageAnalysis] = {}
    for candidate in candidates:
        latest.setdefault((candidate.sha256, candidate.workflow, candidate.analyser), candidate)
    found = {}
    for analysis in wanted:
        source = latest.get((analysis.image.sha256, analysis.workflow, analysers[analysis.route or ROUTE]))
        if source is not None:
            found[analysis.pk] = source
    return found


def _reused_outcome(*, source: ImageAnalysis, analysis: ImageAnalysis) -> Outcome:
    image = analysis.image
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
    return Outcome(
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


def _analyse(analysis: ImageAnalysis) -> Outcome:
    image, workflow = analysis.image, analysis.workflow
    with image.image.open("rb") as handle:
        content = handle.read()
    prepared = prepare_image(content)
    quality = measure_quality(prepared.pixels, original_size=(image.width, image.height))
    if workflow == ImageAnalysis.Workflow.QUALITY:
        return Outcome(findings=Findings(), quality=quality, fields={"analyser": LOCAL_ANALYSER, "model": LOCAL_MODEL})
    if not gateway.is_configured(route=analysis.route or ROUTE):
        findings = analyse_locally(prepared.pixels, workflow=workflow, product=image.product)
        return Outcome(findings=findings, quality=quality, fields={"analyser": LOCAL_ANALYSER, "model": LOCAL_MODEL})
    return _ask_model(analysis=analysis, jpeg=prepared.jpeg, quality=quality)


def _ask_model(*, analysis: ImageAnalysis, jpeg: bytes, quality: QualityReport) -> Outcome:
    """One gateway request. An answer that cannot be parsed is refused inside the gateway (a
    failed, billed call of that model; the next model of the route is asked)."""
    image, workflow = analysis.image, analysis.workflow
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    route = analysis.route or ROUTE
    parsed: list[Findings] = []  # the check parses each answer; the gateway returns the one it accepted
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
            "attempt": analysis.attempts,
        },
        validate=lambda text: parsed.append(parse_answer(text, workflow=workflow)),
    )
    fields = {"analyser": PROVIDER_ANALYSER, "route": route, "prompt_version": PROMPT_VERSION}
    try:
        result = gateway.complete(request)
    except GatewayError as error:
        return Outcome(
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
    return Outcome(findings=parsed[-1], quality=quality, fields=fields)


def _record(outcomes: list[tuple[ImageAnalysis, Outcome]]) -> None:
    """Write a batch's outcomes in one transaction and announce the products whose tags changed once.

    New vocabulary words are proposed first, each committed on its own (see
    ``propose_new_words``). The batch's tag rows are read in one query and its audit events
    written in one INSERT.
    Each image's own writes are in a savepoint: one that fails is recorded on its analysis,
    the rest stand.
    """
    for analysis, outcome in outcomes:
        if outcome.findings is not None and analysis.workflow in TAG_WORKFLOWS:
            propose_new_words(analysis=analysis, findings=outcome.findings)
    changed: set[int] = set()
    events: list[ProductTagEvent] = []
    with transaction.atomic():
        product_tags = _tags_of_products({analysis.image.product_id for analysis, _ in outcomes})
        for analysis, outcome in outcomes:
            product_id = analysis.image.product_id
            try:
                with transaction.atomic():
                    written = _write_outcome(analysis=analysis, outcome=outcome, product_tags=product_tags[product_id])
            except Exception as error:  # recorded on the analysis, like a failed model call
                logger.exception("Recording analysis %s of image %s failed", analysis.pk, analysis.image_id)
                # Its rows were rolled back with its savepoint; those read before may have changed in memory.
                product_tags |= _tags_of_products({product_id})
                failure = Outcome(
                    findings=None,
                    quality=outcome.quality,
                    fields=outcome.fields,
                    error=str(error)[:2000],
                    error_class=type(error).__name__,
                )
                with transaction.atomic():
                    _write_outcome(analysis=analysis, outcome=failure, product_tags=product_tags[product_id])
                continue
            events += written.events
            if written.changed:
                changed.add(product_id)
        ProductTagEvent.objects.bulk_create(events)
        announce_tags_changed(product_ids=changed)


def _tags_of_products(product_ids: set[int]) -> dict[int, list[ProductTag]]:
    rows: dict[int, list[ProductTag]] = {product_id: [] for product_id in product_ids}
    # No order needed, and the default one would join products and tags.
    for row in ProductTag.objects.filter(product_id__in=product_ids).order_by():
        rows[row.product_id].append(row)
    return rows


def _write_outcome(*, analysis: ImageAnalysis, outcome: Outcome, product_tags: list[ProductTag]) -> TagWrites:
    """Write one outcome if this run still holds the analysis: its row, its tags and flags.

    ``product_tags`` are its product's tag rows as they stand, kept current with what this
    writes. Returns the tag events to save and whether applied tags changed.
    """
    now = timezone.now()
    changes = dict(outcome.fields)
    if outcome.quality is not None:
        changes |= {"quality_score": outcome.quality.score, "quality_report": outcome.quality.as_json()}
    changes["finished_at"] = now
    if outcome.findings is None:
        retry_at = None
        if outcome.error_class in RETRYABLE_ERRORS and analysis.attempts < max_attempts():
            retry_at = now + timedelta(seconds=RETRY_DELAYS[analysis.attempts - 1])
        changes |= {
            "status": ImageAnalysis.Status.FAILED,
            "error": outcome.error,
            "error_class": outcome.error_class,
            "next_attempt_at": retry_at,
        }
    else:
        changes |= {
            "status": ImageAnalysis.Status.SUCCEEDED,
            "result": outcome.findings.as_json(),
            "error": "",
            "error_class": "",
            "next_attempt_at": None,
        }
    written = TagWrites()
    held = ImageAnalysis.objects.filter(pk=analysis.pk, claim=analysis.claim, status=ImageAnalysis.Status.RUNNING)
    if not held.update(**changes):
        # Taken over by another run after this one's lease expired: that run's outcome stands.
        logger.warning("Analysis %s was taken over by another run; this run's outcome is dropped", analysis.pk)
        return written
    for name, value in changes.items():
        setattr(analysis, name, value)
    if outcome.findings is None:
        return written
    image, workflow = analysis.image, analysis.workflow
    if workflow in TAG_WORKFLOWS:
        notes = len(outcome.findings.notes)
        written = apply_machine_tags(analysis=analysis, image=image, findings=outcome.findings, current=product_tags)
        if len(outcome.findings.notes) > notes:  # values the vocabulary could not use, noted
            analysis.result = outcome.findings.as_json()
            ImageAnalysis.objects.filter(pk=analysis.pk).update(result=analysis.result)
    if workflow in QUALITY_WORKFLOWS and outcome.quality is not None:
        _flag_quality(analysis=analysis, image=image, quality=outcome.quality)
    if workflow in PROHIBITED_WORKFLOWS:
        written.changed |= _flag_prohibited(analysis=analysis, image=image, findings=outcome.findings)
    return written


# --- retries and lost work -----------------------------------------------------------------


def retry_due_analyses(*, now: datetime | None = None) -> int:
    """Queue again what is due at ``now``; returns how many analyses were queued again.

    - failed analyses whose retry time has come (their attempts count on);
    - analyses left running past the lease (their worker was killed): queued again, or
      failed as AnalysisInterrupted once they used every attempt;
    - analyses queued for longer than the lease with no task taking them (a broker that
      lost the task): their task is queued again. Should the first one still turn up, it
      finds them taken and ends.

    The schedule "tagging: retry due analyses" runs it every minute; tests pass ``now``.
    """
    now = now or timezone.now()
    expired = now - timedelta(seconds=lease_seconds())
    claim = uuid.uuid4()
    abandoned = ImageAnalysis.objects.running().filter(started_at__lt=expired)
    abandoned.filter(attempts__gte=max_attempts()).update(
        status=ImageAnalysis.Status.FAILED,
        error="The run never finished (its worker stopped), and every attempt is used.",
        error_class="AnalysisInterrupted",
        finished_at=now,
        next_attempt_at=None,
    )
    abandoned.update(status=ImageAnalysis.Status.QUEUED, next_attempt_at=now, claim=claim)
    lost = ImageAnalysis.objects.queued().filter(
        Q(next_attempt_at__lt=expired) | Q(next_attempt_at__isnull=True, created_at__lt=expired)
    )
    lost.update(next_attempt_at=now, claim=claim)
    for pk in ImageAnalysis.objects.retrying().filter(next_attempt_at__lte=now).values_list("pk", flat=True):
        _retry(pk=pk, now=now, claim=claim)
    due = list(ImageAnalysis.objects.filter(claim=claim, status=ImageAnalysis.Status.QUEUED).order_by("pk"))
    queueing.dispatch(due)
    return len(due)


def _retry(*, pk: int, now: datetime, claim: uuid.UUID) -> None:
    try:
        with transaction.atomic():
            ImageAnalysis.objects.retrying().filter(pk=pk, next_attempt_at__lte=now).update(
                status=ImageAnalysis.Status.QUEUED, next_attempt_at=now, claim=claim
            )
    except IntegrityError:  # another analysis of the image is pending already: it answers instead
        ImageAnalysis.objects.filter(pk=pk).update(next_attempt_at=None)


def enqueue_retag(*, image_ids, workflow: str = "full", requested_by=None, route: str = ROUTE) -> int:
    """Queue a forced analysis of each image down ``route`` (tasks go out after commit); returns how many."""
    queued = queueing.enqueue_analyses(
        image_ids=list(image_ids), workflow=workflow, force=True, requested_by=requested_by, route=route
    )
    transaction.on_commit(partial(queueing.dispatch, queued))
    return len(queued)


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


# --- flags ---------------------------------------------------------------------------------


def _flag_quality(*, analysis: ImageAnalysis, image: ProductImage, quality: QualityReport) -> None:
    if quality.score >= QUALITY_FLAG_BELOW:
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
    raised = []
    for signal, confidence in sorted(findings.prohibited.items()):
        if confidence < PROHIBITED_FLAG_AT:
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
        still_open = Flag.objects.open().filter(product=product, kind=Flag.Kind.PROHIBITED).exists()
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
        waiting = (
            ProductTag.objects.waiting()
            .filter(
                tag=tag,
                source=ProductTag.Source.AI,
                reviewed_at__isnull=True,
                confidence__gte=APPLY_MEDIUM_AT,
            )
            .select_related("analysis")
        )
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
