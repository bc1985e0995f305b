"""Reads of the catalog for the storefront API: visibility and query-efficient shapes."""

from django.db.models import Count, Prefetch, Q, QuerySet

from catalog.models import Product, ProductImage
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


def can_see_unpublished(user) -> bool:
    """Staff and integrations with the view permission see draft and held products too."""
    return bool(user and user.is_authenticated and user.has_perm("catalog.view_product"))


def visible_products(*, user) -> QuerySet[Product]:
    """The products ``user`` may read: only active ones for anonymous and ordinary clients."""
    products = Product.objects.all()
    return products if can_see_unpublished(user) else products.public()


def product_list(*, user) -> QuerySet[Product]:
    """List rows with their first image and applied tags: a page costs three queries, whatever its size."""
    return (
        visible_products(user=user)
        .select_related("category")
        .only(*PRODUCT_LIST_FIELDS)
        .prefetch_related(primary_image_prefetch(), applied_tags_prefetch())
    )


def primary_image_prefetch() -> Prefetch:
    # Every image of the page's products in one query; products have a handful at most.
    images = ProductImage.objects.order_by("position", "id").only(
        "id", "product_id", "image", "width", "height", "position"
    )
    return Prefetch("images", queryset=images, to_attr="ordered_images")


def primary_image(*, product: Product) -> ProductImage | None:
    """The product's first image by position; uses the prefetched ``ordered_images`` when present."""
    images = getattr(product, "ordered_images", None)
    if images is None:
        return product.images.order_by("position", "id").first()
    return images[0] if images else None


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


def category_filter(path: str) -> Q:
    """The category at ``path`` and every category under it."""
    path = path.strip("/")
    return Q(category__path=path) | Q(category__path__startswith=f"{path}/")
