"""State changes of the catalog. Admin, API, commands and other apps call these."""

from decimal import Decimal
from typing import IO

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from catalog.images import read_upload, validate_image
from catalog.models import Category, Product, ProductImage


def add_product_image(*, product: Product, upload: IO[bytes], position: int | None = None) -> ProductImage:
    """Validate ``upload`` by its content and attach it to ``product``.

    Raises catalog.exceptions.ImageRejected before anything is written. Re-adding bytes the
    product already has returns the existing image instead of a duplicate.
    """
    validated = validate_image(read_upload(upload))
    siblings = list(ProductImage.objects.filter(product=product).values_list("pk", "sha256"))
    same_bytes = [pk for pk, sha256 in siblings if sha256 == validated.sha256]
    if same_bytes:
        return ProductImage.objects.get(pk=same_bytes[0])
    if position is None:
        position = len(siblings)
    image = ProductImage(
        product=product,
        sha256=validated.sha256,
        width=validated.width,
        height=validated.height,
        format=validated.format,
        file_size=validated.size,
        position=position,
    )
    # The file is written before the row; if the row fails the file is removed again so a
    # refused or failed upload leaves nothing behind. The storage gave this file a name no
    # other row has, and a failed save leaves no row: the caller's transaction, if any, can
    # only roll back (no savepoint: two round trips on every upload, for a rare failure).
    image.image.save(f"{validated.sha256}.img", ContentFile(validated.content), save=False)
    try:
        with transaction.atomic(savepoint=False):
            image.save()
    except BaseException:
        image.image.storage.delete(image.image.name)
        raise
    return image


def category_from_path(*, path: str) -> Category:
    """Return the category at a '/'- or '>'-separated path of names, creating missing nodes."""
    parent = None
    for name in [part.strip() for part in path.replace(">", "/").split("/") if part.strip()]:
        category, _ = Category.objects.get_or_create(
            parent=parent, slug=slugify(name)[:120], defaults={"name": name[:120]}
        )
        parent = category
    if parent is None:
        raise ValueError("A category path needs at least one name.")
    return parent


def set_product_status(*, product: Product, status: str, reason: str = "") -> Product:
    product.status = status
    product.hold_reason = reason if status == Product.Status.HELD else ""
    product.save(update_fields=["status", "hold_reason", "updated_at"])
    return product


def upsert_product(
    *,
    sku: str,
    title: str,
    price: Decimal,
    description: str = "",
    currency: str = "USD",
    category: Category | None = None,
    status: str | None = None,
) -> tuple[Product, bool]:
    """Create or update the product with ``sku``; returns (product, created)."""
    defaults = {
        "title": title,
        "description": description,
        "price": price,
        "currency": currency.upper(),
        "category": category,
    }
    if status is not None:
        defaults["status"] = status
    return Product.objects.update_or_create(sku=sku, defaults=defaults)
