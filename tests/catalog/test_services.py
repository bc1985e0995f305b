import io

import pytest

from catalog.exceptions import ImageRejected
from catalog.models import Category, ProductImage
from catalog.services import add_product_image, category_from_path, upsert_product
from tests.factories import ProductFactory, image_bytes

pytestmark = pytest.mark.django_db


def media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_added_image_is_stored_with_its_hash_and_dimensions(settings):
    product = ProductFactory()
    image = add_product_image(product=product, upload=io.BytesIO(image_bytes(size=(640, 480))))
    assert (image.width, image.height, image.format, image.position) == (640, 480, "JPEG", 0)
    assert image.image.name.endswith(f"{image.sha256}.jpg")
    assert len(media_files(settings)) == 1


def test_refused_upload_leaves_no_row_and_no_file(settings):
    product = ProductFactory()
    with pytest.raises(ImageRejected):
        add_product_image(product=product, upload=io.BytesIO(b"not an image at all" * 20))
    assert ProductImage.objects.count() == 0
    assert media_files(settings) == []


def test_adding_the_same_bytes_twice_returns_the_existing_image(settings):
    product = ProductFactory()
    content = image_bytes()
    first = add_product_image(product=product, upload=io.BytesIO(content))
    second = add_product_image(product=product, upload=io.BytesIO(content))
    assert first.pk == second.pk
    assert ProductImage.objects.count() == 1


def test_category_path_creates_the_tree_once():
    leaf = category_from_path(path="Apparel / Tops / T-shirts")
    again = category_from_path(path="Apparel>Tops>T-shirts")
    assert leaf.pk == again.pk
    assert leaf.path == "apparel/tops/t-shirts"
    assert Category.objects.count() == 3


def test_upsert_product_is_idempotent_by_sku():
    product, created = upsert_product(sku="A-1", title="Mug", price="9.50")
    same, created_again = upsert_product(sku="A-1", title="Blue mug", price="9.50")
    assert created and not created_again
    assert same.pk == product.pk and same.title == "Blue mug"
