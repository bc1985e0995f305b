from decimal import Decimal

from django.core.files.storage import storages
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.text import slugify


class Category(models.Model):
    """A node of the category tree; ``path`` is the slash-joined slugs from the root."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=500, unique=True, editable=False)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["parent", "slug"], name="category_unique_slug_per_parent")]

    def __str__(self) -> str:
        return self.path.replace("/", " › ")

    def save(self, *args, **kwargs) -> None:
        self.slug = self.slug or slugify(self.name)
        self.path = f"{self.parent.path}/{self.slug}" if self.parent_id else self.slug
        super().save(*args, **kwargs)


class ProductQuerySet(models.QuerySet):
    def public(self) -> "ProductQuerySet":
        """Products a storefront may show: active ones only (held and draft stay private)."""
        return self.filter(status=Product.Status.ACTIVE)


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        HELD = "held", "Held"

    sku = models.CharField("SKU", max_length=64, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    hold_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "category"], name="product_status_category")]

    def __str__(self) -> str:
        return f"{self.sku} · {self.title}"


def product_image_path(instance: "ProductImage", filename: str) -> str:
    # Content-addressed names: re-uploading the same bytes never collides or overwrites.
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(instance.format, "bin")
    return f"products/{instance.sha256[:2]}/{instance.sha256}.{extension}"


def original_storage():
    """Where uploads are kept byte for byte for staff: outside MEDIA_ROOT, so never served."""
    return storages["originals"]


def original_image_path(instance: "ProductImage", filename: str) -> str:
    return f"originals/{instance.sha256[:2]}/{instance.sha256}.{filename.rsplit('.', 1)[-1]}"


class ProductImage(models.Model):
    class Format(models.TextChoices):
        JPEG = "JPEG", "JPEG"
        PNG = "PNG", "PNG"
        WEBP = "WEBP", "WebP"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=product_image_path, max_length=255, help_text="Served: no photo metadata.")
    original = models.FileField(
        upload_to=original_image_path,
        storage=original_storage,
        max_length=255,
        blank=True,
        editable=False,
        help_text="The upload as sent, kept private when the served copy differs (EXIF, comments).",
    )
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True, editable=False)
    width = models.PositiveIntegerField(editable=False, help_text="After EXIF orientation.")
    height = models.PositiveIntegerField(editable=False, help_text="After EXIF orientation.")
    format = models.CharField(max_length=4, choices=Format.choices, editable=False)
    file_size = models.PositiveIntegerField(editable=False)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["product", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "sha256"], name="image_unique_bytes_per_product")]

    def __str__(self) -> str:
        return f"{self.product.sku} image {self.position}"
