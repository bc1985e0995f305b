"""State changes of the catalog. Admin, API, commands and other apps call these."""

from decimal import Decimal
from typing import IO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from catalog.exceptions import CategoryPathInvalid, ProductInvalid
from catalog.images import public_copy, read_upload, validate_image
from catalog.models import Category, Product, ProductImage

# Storefront menus nest a few levels; a limit keeps one path from creating thousands of rows.
MAX_CATEGORY_DEPTH = 8


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
    # The storefront gets the picture without its metadata (GPS position, camera serial,
    # comments); staff keep the upload as sent, in storage that is never served.
    served = public_copy(validated.content)
    image.file_size = len(served)
    image.image.save(f"{validated.sha256}.img", ContentFile(served), save=False)
    try:
        if served != validated.content:
            original = ContentFile(validated.content)
            image.original.save(f"{validated.sha256}.{image.format.lower()}", original, save=False)
        with transaction.atomic(savepoint=False):
            image.save()
    except BaseException:
        for field_file in (image.image, image.original):
            if field_file:
                field_file.storage.delete(field_file.name)
        raise
    return image


def category_names(*, path: str) -> list[str]:
    """The names of a category path: separated by '/', '>' or '›' (the separator the API writes).

    Raises CategoryPathInvalid for an empty path, one deeper than MAX_CATEGORY_DEPTH, a name over
    the model's length or without a letter or digit, or a path longer than the model stores.
    """
    for separator in (">", "›"):
        path = path.replace(separator, "/")
    names = [part.strip() for part in path.split("/") if part.strip()]
    if not names:
        raise CategoryPathInvalid("A category path needs at least one name.")
    if len(names) > MAX_CATEGORY_DEPTH:
        raise CategoryPathInvalid(f"A category path has at most {MAX_CATEGORY_DEPTH} levels ({len(names)} given).")
    name_length = Category._meta.get_field("name").max_length
    for name in names:
        if len(name) > name_length:
            raise CategoryPathInvalid(f"A category name has at most {name_length} characters.")
        if not slugify(name):
            raise CategoryPathInvalid(f"The category name {name!r} needs at least one letter or digit.")
    path_length = Category._meta.get_field("path").max_length
    if len("/".join(slugify(name) for name in names)) > path_length:
        raise CategoryPathInvalid(f"A category path has at most {path_length} characters.")
    return names


def category_from_path(*, path: str) -> Category:
    """Return the category at a '/'-, '>'- or '›'-separated path of names, creating missing nodes.

    Raises CategoryPathInvalid (see category_names) before anything is written.
    """
    parent = None
    for name in category_names(path=path):
        parent, _ = Category.objects.get_or_create(parent=parent, slug=slugify(name), defaults={"name": name})
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
    """Create or update the product with ``sku``; returns (product, created).

    Every field passes the model's own validators (lengths, price digits, status choices) and
    holds no NUL character, or ProductInvalid is raised and nothing is written: a value the
    database takes but cannot read back would break every page that lists the product.
    """
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(sku=sku).first()
        created = product is None
        if created:
            product = Product(sku=sku)
        product.title, product.description, product.price = title, description, price
        product.currency, product.category = currency.upper(), category
        if status is not None:
            product.status = status
        validate_product(product=product)
        product.save()
    return product, created


def validate_product(*, product: Product) -> None:
    """Raise ProductInvalid unless every field of ``product`` passes the model's validators."""
    errors: dict[str, list[str]] = {}
    try:
        # The category is a saved row the caller looked up; uniqueness is the database's to enforce.
        product.full_clean(exclude=["category"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors = {field: list(messages) for field, messages in error.message_dict.items()}
    for field in ("sku", "title", "description", "currency", "hold_reason"):
        if "\x00" in (getattr(product, field) or ""):
            errors.setdefault(field, []).append("Null characters are not allowed.")
    if errors:
        raise ProductInvalid(errors)
