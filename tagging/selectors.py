"""Reads of tagging state for the admin, the API and reports. No writes."""

from collections import defaultdict

from django.db.models import QuerySet

from catalog.models import Product
from tagging.models import ImageAnalysis, ProductTag


def applied_tags_by_facet(*, product: Product) -> dict[str, list[ProductTag]]:
    """The product's applied tags grouped by facet, most confident first."""
    grouped: dict[str, list[ProductTag]] = defaultdict(list)
    rows = (
        ProductTag.objects.filter(product=product, status=ProductTag.Status.APPLIED)
        .select_related("tag")
        .order_by("tag__facet", "-confidence", "tag__name")
    )
    for row in rows:
        grouped[row.tag.facet].append(row)
    return dict(grouped)


def review_queue() -> QuerySet[ProductTag]:
    """Product tags waiting for staff, oldest first."""
    return (
        ProductTag.objects.filter(status=ProductTag.Status.NEEDS_REVIEW)
        .select_related("product", "tag", "analysis", "image")
        .order_by("created_at", "id")
    )


def product_quality(*, product: Product) -> float | None:
    """The mean of each image's latest quality score (0–10); None before any image is scored."""
    latest: dict[int, float] = {}
    rows = (
        ImageAnalysis.objects.filter(image__product=product, quality_score__isnull=False)
        .order_by("image_id", "-finished_at", "-id")
        .values_list("image_id", "quality_score")
    )
    for image_id, score in rows:
        latest.setdefault(image_id, score)
    if not latest:
        return None
    return round(sum(latest.values()) / len(latest), 2)


def tag_history(*, product_tag: ProductTag) -> QuerySet:
    """Every change of one product tag, newest first, with who or what made it."""
    return product_tag.events.select_related("actor", "analysis").order_by("-created_at", "-id")
