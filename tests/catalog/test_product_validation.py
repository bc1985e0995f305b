"""Every write path validates products with the model's own rules, and the API reads back what it writes."""

import html
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.exceptions import ProductInvalid
from catalog.models import Category, Product
from catalog.services import MAX_CATEGORY_DEPTH, category_from_path, upsert_product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_superuser("writer", "writer@example.com", "pw"))
    return client


def test_import_refuses_a_price_with_more_digits_than_the_model_keeps(tmp_path):
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text("sku,title,price\nBIGPRICE-1,big price,12345678901234\nOK-1,fine,10\n")
    out = io.StringIO()
    call_command("import_catalog", str(csv_file), "--status", "active", stdout=out)
    assert "1 created, 0 updated, 1 refused" in out.getvalue()
    assert "BIGPRICE-1" in out.getvalue() and "12 digits" in out.getvalue()
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]
    assert APIClient().get("/api/products/").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "t" * 301), ("price", Decimal("12345678901234")), ("currency", "EURO"), ("title", "nul\x00title")],
)
def test_the_service_refuses_what_the_model_would_not_store(field, value):
    fields = {"sku": "S-1", "title": "Title", "price": Decimal("1.00"), field: value}
    with pytest.raises(ProductInvalid) as refused:
        upsert_product(**fields)
    assert field in refused.value.errors
    assert not Product.objects.exists()


def test_the_service_refuses_an_invalid_update_and_keeps_the_product():
    upsert_product(sku="S-1", title="Title", price=Decimal("1.00"))
    with pytest.raises(ProductInvalid):
        upsert_product(sku="S-1", title="Title", price=Decimal("1.00"), status="sold")
    assert Product.objects.get().status == Product.Status.DRAFT


def test_the_api_refuses_a_price_over_the_models_digits(writer):
    response = writer.post("/api/products/", {"sku": "A-1", "title": "A", "price": "12345678901234"}, format="json")
    assert response.status_code == 400
    assert "price" in response.json()


def test_the_admin_refuses_a_price_over_the_models_digits(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.com", "pw"))
    product = ProductFactory(sku="A-1")
    response = client.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {
            "sku": "A-1",
            "status": "active",
            "title": "A",
            "price": "12345678901234",
            "currency": "USD",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "flags-TOTAL_FORMS": "0",
            "flags-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Ensure that there are no more than 12 digits" in response.content.decode()
    assert Product.objects.get().price == Decimal("19.99")


# --- category paths: bounded depth and length ------------------------------------------------


def test_a_two_thousand_level_category_path_is_refused_with_a_400(writer):
    path = "/".join(f"level{index}" for index in range(2000))
    response = writer.post("/api/products/", {"sku": "C-1", "title": "C", "price": 1, "category": path}, format="json")
    assert response.status_code == 400
    assert f"at most {MAX_CATEGORY_DEPTH} levels" in response.json()["category"][0]
    assert not Category.objects.exists()
    assert not Product.objects.exists()


def test_a_category_path_longer_than_the_model_stores_is_refused(writer):
    path = "/".join(letter * 120 for letter in "abcde")
    response = writer.post("/api/products/", {"sku": "C-1", "title": "C", "price": 1, "category": path}, format="json")
    assert response.status_code == 400
    assert "characters" in response.json()["category"][0]
    assert not Category.objects.exists()


def test_import_refuses_a_too_deep_category_and_imports_the_rest(tmp_path):
    csv_file = tmp_path / "catalog.csv"
    deep = " > ".join(f"level{index}" for index in range(MAX_CATEGORY_DEPTH + 1))
    csv_file.write_text(f"sku,title,price,category\nDEEP-1,deep,10,{deep}\nOK-1,fine,10,Home > Kitchen\n")
    out = io.StringIO()
    call_command("import_catalog", str(csv_file), stdout=out)
    assert "1 created, 0 updated, 1 refused" in out.getvalue()
    assert list(Category.objects.values_list("path", flat=True)) == ["home", "home/kitchen"]


def test_a_category_name_without_letters_or_digits_is_refused(writer):
    response = writer.post("/api/products/", {"sku": "C-1", "title": "C", "price": "1", "category": "Home/!!!"})
    assert response.status_code == 400
    assert not Category.objects.exists()


# --- what the API writes out, it reads back ----------------------------------------------------


def browsable_patch_body(client, sku: str) -> str:
    """The body the browsable API pre-fills in its PATCH form, as a person would send it."""
    page = client.get(f"/api/products/{sku}/", HTTP_ACCEPT="text/html").content.decode()
    match = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match, "the browsable API shows no raw PATCH form"
    return html.unescape(match.group(1))


@pytest.mark.parametrize("status", [Product.Status.ACTIVE, Product.Status.DRAFT, Product.Status.HELD])
def test_patching_back_the_browsable_apis_prefilled_body_changes_nothing(writer, status):
    ProductFactory(
        sku="RT-1",
        title="Wrap dress",
        description="Linen, knee length.\nMachine wash.",
        price=Decimal("89.50"),
        currency="EUR",
        category=category_from_path(path="Apparel > Dresses"),
        status=status,
    )
    fields = ["sku", "title", "description", "price", "currency", "category_id", "status", "hold_reason"]
    before = Product.objects.values(*fields).get()
    categories_before = list(Category.objects.values_list("pk", "path"))
    body = browsable_patch_body(writer, "RT-1")
    assert json.loads(body)["category"] == "apparel/dresses"
    response = writer.patch("/api/products/RT-1/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert Product.objects.values(*fields).get() == before
    assert list(Category.objects.values_list("pk", "path")) == categories_before


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("title", "Oak stool, tall", "Oak stool, tall"),
        ("description", "Solid oak.\nOiled.", "Solid oak.\nOiled."),
        ("price", "49.50", Decimal("49.50")),
        ("currency", "gbp", "GBP"),
        ("status", "active", "active"),
        ("category", "Home › Furniture", "home/furniture"),
    ],
)
def test_every_writable_field_reads_back_as_what_was_written(writer, field, value, stored):
    ProductFactory(sku="RT-2", status=Product.Status.DRAFT)
    assert writer.patch("/api/products/RT-2/", {field: value}, format="json").status_code == 200
    written = writer.get("/api/products/RT-2/").json()
    echoed = browsable_patch_body(writer, "RT-2")
    assert writer.patch("/api/products/RT-2/", echoed, content_type="application/json").status_code == 200
    product = Product.objects.get(sku="RT-2")
    actual = product.category.path if field == "category" else getattr(product, field)
    assert actual == stored
    reread = writer.get("/api/products/RT-2/").json()
    assert {**reread, "updated_at": None} == {**written, "updated_at": None}
