"""Integration writes: token auth, permissions, image uploads, analysis status, throttling."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import caches
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from catalog.models import Product, ProductImage
from tagging.models import ImageAnalysis
from tests.factories import ProductFactory, image_upload

pytestmark = pytest.mark.django_db

NEW_PRODUCT = {"sku": "NEW-1", "title": "Oak stool", "price": "49.50", "category": "Home/Furniture"}


@pytest.fixture
def integration(django_user_model):
    user = django_user_model.objects.create_user("integration")
    codenames = ["add_product", "change_product", "view_product", "add_productimage"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_create_without_token_is_unauthorised():
    response = APIClient().post("/api/products/", NEW_PRODUCT, format="json")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert not Product.objects.exists()


def test_create_with_a_token_lacking_permission_is_forbidden(django_user_model):
    client = token_client(django_user_model.objects.create_user("reader"))
    assert client.post("/api/products/", NEW_PRODUCT, format="json").status_code == 403


def test_create_with_token_makes_a_draft_in_its_category(integration):
    response = token_client(integration).post("/api/products/", NEW_PRODUCT, format="json")
    assert response.status_code == 201, response.content
    product = Product.objects.get(sku="NEW-1")
    assert (product.status, product.category.path) == (Product.Status.DRAFT, "home/furniture")
    assert response.json()["category"]["path"] == "home/furniture"


def test_create_refuses_a_duplicate_sku(integration):
    ProductFactory(sku="NEW-1")
    response = token_client(integration).post("/api/products/", NEW_PRODUCT, format="json")
    assert response.status_code == 400
    assert "sku" in response.json()


def test_patch_changes_only_the_fields_sent(integration):
    ProductFactory(sku="P-1", title="Old", description="kept")
    response = token_client(integration).patch("/api/products/P-1/", {"title": "New"}, format="json")
    assert response.status_code == 200, response.content
    product = Product.objects.get(sku="P-1")
    assert (product.title, product.description) == ("New", "kept")


def test_patch_cannot_release_a_held_product(integration):
    ProductFactory(sku="P-1", status=Product.Status.HELD)
    response = token_client(integration).patch("/api/products/P-1/", {"status": "active"}, format="json")
    assert response.status_code == 400
    assert Product.objects.get(sku="P-1").status == Product.Status.HELD


def test_upload_stores_the_image_and_queues_its_analysis(integration, django_capture_on_commit_callbacks):
    ProductFactory(sku="P-1")
    with django_capture_on_commit_callbacks() as callbacks:
        response = token_client(integration).post(
            "/api/products/P-1/images/", {"image": image_upload()}, format="multipart"
        )
    assert response.status_code == 201, response.content
    assert response.json()["width"] == 320
    assert ProductImage.objects.filter(product__sku="P-1").count() == 1
    assert len(callbacks) == 1  # the post_save signal's enqueue, run after commit


def test_upload_of_a_non_image_is_refused_with_the_reason(integration):
    ProductFactory(sku="P-1")
    fake = image_upload(name="notes.jpg")
    fake.file.seek(0)
    fake.file.write(b"this is just text" * 10)
    fake.file.truncate()
    fake.file.seek(0)
    response = token_client(integration).post("/api/products/P-1/images/", {"image": fake}, format="multipart")
    assert response.status_code == 400
    assert response.json()["image"][0]
    assert not ProductImage.objects.exists()


def test_upload_without_token_is_unauthorised():
    ProductFactory(sku="P-1")
    response = APIClient().post("/api/products/P-1/images/", {"image": image_upload()}, format="multipart")
    assert response.status_code == 401


def test_image_status_reports_the_newest_analysis(integration):
    product = ProductFactory(sku="P-1")
    from catalog.services import add_product_image

    image = add_product_image(product=product, upload=image_upload())
    client = token_client(integration)
    assert client.get(f"/api/images/{image.pk}/").json()["analysis_status"] == "pending"
    ImageAnalysis.objects.create(image=image, status=ImageAnalysis.Status.SUCCEEDED, model="gemini-2.5-flash")
    body = client.get(f"/api/images/{image.pk}/").json()
    assert (body["analysis_status"], body["analyses"][0]["model"]) == ("succeeded", "gemini-2.5-flash")


def test_image_status_needs_a_token():
    assert APIClient().get("/api/images/1/").status_code == 401


@pytest.fixture
def tight_rates(monkeypatch, database_cache):
    # DRF binds the rate table when the throttle class is defined, so override it there. The
    # caches are production's without Redis (database_cache): the throttle counts in its own.
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/min", "user": "100/min", "writes": "2/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def test_anonymous_reads_are_throttled_with_retry_after(tight_rates):
    client = APIClient()
    statuses = [client.get("/api/products/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/products/")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_reads_are_throttled_per_client(tight_rates):
    first, second = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
    for _ in range(3):
        first.get("/api/products/")
    assert first.get("/api/products/").status_code == 429
    assert second.get("/api/products/").status_code == 200


def test_writes_are_throttled_separately_from_reads(tight_rates, integration):
    client = token_client(integration)
    ProductFactory(sku="P-1")
    statuses = [client.patch("/api/products/P-1/", {"title": "x"}, format="json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "Retry-After" in client.patch("/api/products/P-1/", {"title": "x"}, format="json").headers
    assert client.get("/api/products/P-1/").status_code == 200


def test_throttle_counts_live_in_the_throttle_cache_not_the_default_one(tight_rates):
    client = APIClient(REMOTE_ADDR="10.0.0.9")
    assert [client.get("/api/products/").status_code for _ in range(4)] == [200, 200, 200, 429]
    caches["default"].clear()  # counts are not in the default cache, so this does not reset them
    assert client.get("/api/products/").status_code == 429
    caches["throttle"].clear()
    assert client.get("/api/products/").status_code == 200
