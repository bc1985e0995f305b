"""Deleting an image, in the admin or with its product, removes its file once the deletion commits."""

import pytest
from django.db import transaction

from catalog.models import Product, ProductImage
from catalog.services import add_product_image
from tests.factories import ProductFactory, image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.com", "pw"))
    return client


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def image():
    return add_product_image(product=ProductFactory(sku="IMG-1"), upload=image_upload())


def stored(image: ProductImage) -> bool:
    return image.image.storage.exists(image.image.name)


def test_an_image_deleted_in_the_products_admin_page_leaves_no_file(staff_client, image, on_commit):
    product = image.product
    form = {
        "sku": product.sku,
        "status": product.status,
        "title": product.title,
        "price": str(product.price),
        "currency": product.currency,
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "1",
        "images-0-id": str(image.pk),
        "images-0-product": str(product.pk),
        "images-0-position": "0",
        "images-0-DELETE": "on",
        "flags-TOTAL_FORMS": "0",
        "flags-INITIAL_FORMS": "0",
    }
    assert stored(image)
    with on_commit(execute=True):
        response = staff_client.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert response.status_code == 302
    assert not ProductImage.objects.exists()
    assert not stored(image)


def test_deleting_a_product_in_the_admin_removes_its_image_files(staff_client, image, on_commit):
    with on_commit(execute=True):
        response = staff_client.post(f"/admin/catalog/product/{image.product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Product.objects.exists()
    assert not stored(image)


def test_deleting_images_from_the_image_list_removes_their_files(staff_client, image, on_commit):
    with on_commit(execute=True):
        response = staff_client.post(
            "/admin/catalog/productimage/",
            {"action": "delete_selected", "_selected_action": [str(image.pk)], "post": "yes"},
        )
    assert response.status_code == 302
    assert not stored(image)


def test_a_rolled_back_deletion_keeps_the_file(image, on_commit):
    with on_commit(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        ProductImage.objects.get(pk=image.pk).delete()
        raise RuntimeError("roll back")
    assert ProductImage.objects.filter(pk=image.pk).exists()
    assert stored(image)
