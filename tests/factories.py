"""Model factories and image makers shared by every test package."""

import io
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Category, Product
from tagging.models import Facet, Tag


def image_bytes(
    *, size: tuple[int, int] = (320, 240), colour: tuple[int, int, int] = (200, 30, 40), format: str = "JPEG", **save
) -> bytes:
    """A real encoded image of one colour with a darker square, so it is not flat."""
    image = Image.new("RGB", size, colour)
    inner = tuple(max(0, channel - 90) for channel in colour)
    width, height = size
    image.paste(inner, (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, format=format, **save)
    return buffer.getvalue()


def image_upload(name: str = "photo.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("parent", "slug")

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    description = "A product for tests."
    price = Decimal("19.99")
    currency = "USD"
    status = Product.Status.ACTIVE


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("facet", "slug")

    facet = Facet.COLOUR
    name = factory.Sequence(lambda n: f"tag {n}")
    slug = factory.LazyAttribute(lambda tag: tag.name.replace(" ", "-"))
