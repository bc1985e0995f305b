"""The product change form keeps a product with an open prohibited-content flag out of the storefront."""

import pytest

from catalog.models import Product
from tagging.models import Flag
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def change_form(product: Product, **changes) -> dict:
    return {
        "sku": product.sku,
        "status": product.status,
        "title": product.title,
        "description": product.description,
        "price": str(product.price),
        "currency": product.currency,
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "flags-TOTAL_FORMS": "0",
        "flags-INITIAL_FORMS": "0",
        **changes,
    }


@pytest.fixture
def held_product():
    product = ProductFactory(sku="HELD-1", status=Product.Status.HELD, hold_reason="Prohibited content")
    flag = Flag.objects.create(product=product, kind=Flag.Kind.PROHIBITED, reason="weapons", confidence=0.9)
    return product, flag


def test_the_change_form_cannot_activate_a_product_with_an_open_prohibited_flag(staff_client, held_product):
    product, _ = held_product
    response = staff_client.post(f"/admin/catalog/product/{product.pk}/change/", change_form(product, status="active"))
    assert response.status_code == 200
    assert "open prohibited-content flag" in response.content.decode()
    product.refresh_from_db()
    assert product.status == Product.Status.HELD


def test_the_change_form_can_activate_it_once_the_flag_is_cleared(staff_client, held_product):
    product, flag = held_product
    Flag.objects.filter(pk=flag.pk).update(status=Flag.Status.CLEARED)
    response = staff_client.post(f"/admin/catalog/product/{product.pk}/change/", change_form(product, status="active"))
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == Product.Status.ACTIVE


def test_other_fields_of_a_held_product_can_still_be_edited(staff_client, held_product):
    product, _ = held_product
    response = staff_client.post(f"/admin/catalog/product/{product.pk}/change/", change_form(product, title="New"))
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.title, product.status) == ("New", Product.Status.HELD)
