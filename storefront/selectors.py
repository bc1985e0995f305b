"""Reads for the products API: products with their applied tags, facet counts, analysis states.

Query-efficient shapes over the catalog's own reads (``catalog.selectors``: visibility, first
images) and tagging's.
"""

from django.db.models import Count, Prefetch, QuerySet

from catalog.models import Product, ProductImage
from catalog.selectors import primary_image_prefetch, visible_products
from tagging import selectors as tagging_selectors
from tagging.models import ImageAnalysis, ProductTag

PRODUCT_LIST_FIELDS = (
    "id",
    "sku",
    "title",
    "price",
    "currency",
    "status",
    "created_at",
    "category__id",
    "category__path",
    "category__name",
)


def product_list(*, user) -> QuerySet[Product]:
    """List rows with their first image and applied tags: a page costs three queries, whatever its size."""
    return (
        visible_products(user=user)
        .select_related("category")
        .only(*PRODUCT_LIST_FIELDS)
        .prefetch_related(primary_image_prefetch(), applied_tags_prefetch())
    )


def applied_tags_prefetch() -> Prefetch:
    applied = (
        ProductTag.objects.filter(status=ProductTag.Status.APPLIED)
        .select_related("tag")
        .order_by("tag__facet", "-confidence", "tag__name")
    )
    return Prefetch("product_tags", queryset=applied, to_attr="applied_tags")


def product_detail(*, user) -> QuerySet[Product]:
    """Products with images and applied tags prefetched: a detail page costs three queries."""
    images = ProductImage.objects.order_by("position", "id")
    return (
        visible_products(user=user)
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=images), applied_tags_prefetch())
    )


def tags_by_facet(*, product: Product) -> dict[str, list[ProductTag]]:
    """Applied tags grouped by facet; uses the prefetched ``applied_tags`` when present."""
    applied = getattr(product, "applied_tags", None)
    if applied is None:
        applied = list(applied_tags_prefetch().queryset.filter(product=product))
    grouped: dict[str, list[ProductTag]] = {}
    for product_tag in applied:
        grouped.setdefault(product_tag.tag.facet, []).append(product_tag)
    return grouped


def product_quality(*, product: Product) -> float | None:
    """Quality score (0–10) of the product's photos, as the tagging app computes it."""
    return tagging_selectors.product_quality(product=product)


def facet_counts(*, products: QuerySet[Product]) -> dict[str, list[dict]]:
    """How many of ``products`` carry each applied tag, grouped by facet, most common first."""
    rows = (
        ProductTag.objects.filter(status=ProductTag.Status.APPLIED, product__in=products.values("pk"))
        .values("tag__facet", "tag__slug", "tag__name")
        .annotate(count=Count("id"))
        .order_by("tag__facet", "-count", "tag__slug")
    )
    counts: dict[str, list[dict]] = {}
    for row in rows:
        counts.setdefault(row["tag__facet"], []).append(
            {"slug": row["tag__slug"], "name": row["tag__name"], "count": row["count"]}
        )
    return counts


def image_with_analyses(*, user, image_id: int) -> ProductImage | None:
    """The image if its product is visible to ``user``, with its analyses newest first."""
    analyses = ImageAnalysis.objects.order_by("-created_at", "-id").only(
        "id", "image_id", "workflow", "status", "model", "error", "created_at", "finished_at", "quality_score"
    )
    return (
        ProductImage.objects.filter(pk=image_id, product__in=visible_products(user=user).values("pk"))
        .select_related("product")
        .prefetch_related(Prefetch("analyses", queryset=analyses))
        .first()
    )
