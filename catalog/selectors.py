"""Reads of the catalog alone: which products a client may see, first images, category subtrees.

Reads that bring tags along live above tagging, in ``storefront.selectors``.
"""

from django.db.models import Prefetch, Q, QuerySet

from catalog.models import Product, ProductImage


def can_see_unpublished(user) -> bool:
    """Staff and integrations with the view permission see draft and held products too."""
    return bool(user and user.is_authenticated and user.has_perm("catalog.view_product"))


def visible_products(*, user) -> QuerySet[Product]:
    """The products ``user`` may read: only active ones for anonymous and ordinary clients."""
    products = Product.objects.all()
    return products if can_see_unpublished(user) else products.public()


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


def category_filter(path: str) -> Q:
    """The category at ``path`` and every category under it."""
    path = path.strip("/")
    return Q(category__path=path) | Q(category__path__startswith=f"{path}/")
