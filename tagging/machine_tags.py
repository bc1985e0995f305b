"""Writing machine tags: from an analysis's findings to ProductTag rows and their audit events.

An image's new rows go in one INSERT; their events are handed back for the caller to write
with those of the rest of its batch. Updates of existing machine tags carry "no staff
decision yet" in the UPDATE itself, so a machine never overwrites a decision.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import ProductImage
from tagging import vocabulary
from tagging.analysis.parsing import Finding, Findings
from tagging.models import Facet, ImageAnalysis, ProductTag, ProductTagEvent, Tag

APPLY_HIGH_AT = 0.90
APPLY_MEDIUM_AT = 0.75
MAX_TAGS_PER_IMAGE = 8
OPEN_MACHINE_STATUSES = (ProductTag.Status.APPLIED, ProductTag.Status.NEEDS_REVIEW)


def status_for(*, confidence: float, tag: Tag) -> tuple[str, str]:
    """(status, band) for a machine tag. A proposed vocabulary value always waits for staff."""
    if confidence >= APPLY_HIGH_AT:
        status, band = ProductTag.Status.APPLIED, ProductTag.Band.HIGH
    elif confidence >= APPLY_MEDIUM_AT:
        status, band = ProductTag.Status.APPLIED, ProductTag.Band.MEDIUM
    else:
        status, band = ProductTag.Status.NEEDS_REVIEW, ProductTag.Band.LOW
    if tag.status != Tag.Status.CANONICAL:
        status = ProductTag.Status.NEEDS_REVIEW
    return status, band


def _capped(findings: list[Finding]) -> list[Finding]:
    """At most MAX_TAGS_PER_IMAGE findings, one per value: the attribute facets first (they are
    what the storefront filters on), then keywords by confidence. Keywords past the cap stay
    in the analysis result, visible to staff, but are not written as tags."""
    best: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        key = (finding.facet, vocabulary.singular(vocabulary.normalise(finding.value)))
        if key[1] and (key not in best or finding.confidence > best[key].confidence):
            best[key] = finding
    ranked = sorted(best.values(), key=lambda finding: (finding.facet == Facet.KEYWORD, -finding.confidence))
    return ranked[:MAX_TAGS_PER_IMAGE]


def propose_new_words(*, analysis: ImageAnalysis, findings: Findings) -> None:
    """Find or propose the vocabulary entry of each finding that will be written, each in its
    own short transaction.

    Called before a batch's transaction: batches that propose the same new words inside their
    transactions, in different orders, wait on each other's unique-index entries until
    PostgreSQL breaks the deadlock by failing one of them.
    """
    for finding in _capped(findings.tags):
        vocabulary.resolve(facet=finding.facet, value=finding.value, analysis=analysis)


@dataclass
class TagWrites:
    """What writing an analysis's tags left for the caller: the audit events to save, and
    whether the product's applied tags changed."""

    events: list[ProductTagEvent] = field(default_factory=list)
    changed: bool = False


def apply_machine_tags(
    *, analysis: ImageAnalysis, image: ProductImage, findings: Findings, current: list[ProductTag]
) -> TagWrites:
    """Write the analysis's tags: new rows in one INSERT, updates and supersessions row by row
    (rare: re-analyses only). The audit events are returned, not saved.

    ``current`` holds the product's tag rows as they stand (read once for a batch); the rows
    this writes are added to it, so the next image of the same product sees them. Values the
    vocabulary cannot use (nothing left after normalising) are skipped with a note on the
    analysis result.
    """
    product = image.product
    chosen: dict[int, tuple[Tag, float, str]] = {}  # tag id → (tag, confidence, evidence)
    for finding in _capped(findings.tags):
        tag = vocabulary.resolve(facet=finding.facet, value=finding.value, analysis=analysis)
        if tag is None:
            findings.notes.append(f"Dropped {finding.facet} {finding.value[:60]!r}: no usable words.")
        elif tag.pk not in chosen or finding.confidence > chosen[tag.pk][1]:
            chosen[tag.pk] = (tag, finding.confidence, ProductTag.Evidence(finding.evidence))
    existing = {row.tag_id: row for row in current if row.tag_id in chosen}
    events: list[ProductTagEvent] = []
    fresh = []
    for tag, confidence, evidence in chosen.values():
        status, band = status_for(confidence=confidence, tag=tag)
        if tag.pk not in existing:
            fresh.append(
                ProductTag(
                    product=product,
                    tag=tag,
                    confidence=confidence,
                    band=band,
                    source=ProductTag.Source.AI,
                    evidence=evidence,
                    status=status,
                    analysis=analysis,
                    image=image,
                    model=analysis.model,
                )
            )
    created, raced = _create_machine_tags(fresh)
    current += created
    current += [row for row in raced.values() if row not in current]
    events.extend(tag_event_row(row, _creation_action(row), analysis=analysis, before="") for row in created)
    changed = any(row.status == ProductTag.Status.APPLIED for row in created)
    existing.update(raced)
    for tag, confidence, evidence in chosen.values():
        row = existing.get(tag.pk)
        if row is None or row.is_human_decision or row.analysis_id == analysis.pk:
            continue  # just created, staff decided, or this analysis already wrote it (a re-run)
        status, band = status_for(confidence=confidence, tag=tag)
        before = row.status
        changes = {
            "confidence": confidence,
            "status": status,
            "band": band,
            "evidence": evidence,
            "analysis": analysis,
            "image": image,
        }
        if not _update_undecided(row, **changes, model=analysis.model):
            continue  # staff decided on it a moment ago
        events.append(tag_event_row(row, ProductTagEvent.Action.UPDATED, analysis=analysis, before=before))
        changed |= ProductTag.Status.APPLIED in (before, status)
    stale = [
        row
        for row in current
        if row.image_id == image.pk
        and row.source == ProductTag.Source.AI
        and row.status in OPEN_MACHINE_STATUSES
        and row.reviewed_by_id is None
        and row.reviewed_at is None
        and row.tag_id not in chosen
        and row.analysis_id != analysis.pk
    ]  # open machine tags an earlier analysis of this image wrote and this one did not find
    for row in stale:
        before = row.status
        if not _update_undecided(row, status=ProductTag.Status.SUPERSEDED):
            continue
        events.append(
            tag_event_row(
                row,
                ProductTagEvent.Action.SUPERSEDED,
                analysis=analysis,
                before=before,
                note="Not in the newer analysis.",
            )
        )
        changed |= before == ProductTag.Status.APPLIED
    return TagWrites(events=events, changed=changed)


def _creation_action(row: ProductTag) -> str:
    if row.status == ProductTag.Status.APPLIED:
        return ProductTagEvent.Action.APPLIED
    return ProductTagEvent.Action.PROPOSED


def _update_undecided(row: ProductTag, **changes) -> bool:
    """Apply ``changes`` to a machine tag unless staff have decided on it since it was read.

    The condition is in the UPDATE itself, so a decision committed after the read is never
    overwritten. Returns whether the row changed; ``row`` then holds the new values.
    """
    now = timezone.now()
    updated = ProductTag.objects.filter(
        pk=row.pk, source=ProductTag.Source.AI, reviewed_by__isnull=True, reviewed_at__isnull=True
    ).update(**changes, updated_at=now)
    if updated:
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = now
    return bool(updated)


def _create_machine_tags(rows: list[ProductTag]) -> tuple[list[ProductTag], dict[int, ProductTag]]:
    """Insert ``rows`` at once; (created rows, {tag_id: row} written a moment ago by another
    analysis of the same product). Only when that race happens are they inserted one by one."""
    if not rows:
        return [], {}
    try:
        with transaction.atomic():
            return ProductTag.objects.bulk_create(rows), {}
    except IntegrityError:
        pass
    created, raced = [], {}
    for row in rows:
        try:
            with transaction.atomic():
                row.pk = None
                row.save(force_insert=True)
            created.append(row)
        except IntegrityError:
            raced[row.tag_id] = ProductTag.objects.get(product_id=row.product_id, tag_id=row.tag_id)
    return created, raced


def record_tag_event(
    row: ProductTag, action: str, *, analysis=None, actor=None, before: str = "", note: str = ""
) -> None:
    tag_event_row(row, action, analysis=analysis, actor=actor, before=before, note=note).save()


def tag_event_row(
    row: ProductTag, action: str, *, analysis=None, actor=None, before: str = "", note: str = ""
) -> ProductTagEvent:
    return ProductTagEvent(
        product_tag=row,
        action=action,
        actor=actor,
        analysis=analysis,
        model=analysis.model if analysis is not None else "",
        confidence=row.confidence,
        status_before=before,
        status_after=row.status,
        note=note[:300],
    )
