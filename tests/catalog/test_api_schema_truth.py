"""The OpenAPI schema lists every answer the API gives: 400s of queries, 404s of cursors, 414, event streams."""

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_every_operation_documents_an_overlong_url(schema):
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/") or path == "/api/schema/":
            continue
        for method, operation in operations.items():
            assert "414" in operation["responses"], (method, path)


@pytest.mark.parametrize("path", ["/api/products/", "/api/facets/", "/api/tags/"])
def test_lists_document_the_400_their_query_parameters_answer(schema, path):
    assert "400" in schema["paths"][path]["get"]["responses"]
    query = {"facet": "nonsense"} if path == "/api/tags/" else {"tag": ",".join(f"v{index}" for index in range(30))}
    assert APIClient().get(path, query).status_code == 400


def test_an_invalid_cursor_is_a_documented_404(schema):
    assert "404" in schema["paths"]["/api/products/"]["get"]["responses"]
    assert APIClient().get("/api/products/", {"cursor": "not-a-cursor"}).status_code == 404


def test_the_event_stream_of_recommendations_is_documented(schema):
    answer = schema["paths"]["/api/recommendations/"]["post"]["responses"]["200"]["content"]
    assert set(answer) == {"application/json", "text/event-stream"}


@pytest.fixture
def writer(django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_superuser("writer", "writer@example.com", "pw"))
    return client


@pytest.mark.parametrize("field", ["currency", "status"])
@pytest.mark.parametrize("format", ["multipart", "json"])
def test_an_empty_currency_or_status_is_refused_in_every_body_format(writer, field, format):
    ProductFactory(sku="P-1", currency="EUR", status=Product.Status.DRAFT)
    created = writer.post("/api/products/", {"sku": "N-1", "title": "t", "price": "1", field: ""}, format=format)
    assert created.status_code == 400
    assert field in created.json()
    patched = writer.patch("/api/products/P-1/", {field: ""}, format=format)
    assert patched.status_code == 400
    assert (Product.objects.get(sku="P-1").currency, Product.objects.filter(sku="N-1").exists()) == ("EUR", False)
