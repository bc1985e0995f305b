"""The OpenAPI document validates, and every documented endpoint answers as documented."""

import copy

import jsonschema
import pytest
from django.contrib.auth.models import Permission
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.services import add_product_image
from recommendations.services import rebuild_similar_products
from tests.factories import image_upload
from tests.recommendations.catalogs import build_small_catalog

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/api/products/",
    "/api/products/{sku}/",
    "/api/products/{sku}/images/",
    "/api/products/{sku}/similar/",
    "/api/tags/",
    "/api/facets/",
    "/api/images/{id}/",
    "/api/recommendations/",
}


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def as_json_schema(node, components):
    """OpenAPI 3.0 schema → JSON Schema: inline $refs and turn `nullable` into a null type."""
    if isinstance(node, list):
        return [as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    node = {key: as_json_schema(value, components) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def test_schema_is_valid_openapi_3(schema):
    validate_schema(copy.deepcopy(schema))
    assert schema["openapi"].startswith("3.")


def test_schema_lists_every_endpoint(schema):
    assert set(schema["paths"]) >= EXPECTED_PATHS


@pytest.mark.parametrize("path", sorted(EXPECTED_PATHS))
def test_every_operation_documents_its_errors(schema, path):
    for method, operation in schema["paths"][path].items():
        documented = set(operation["responses"])
        assert "429" in documented, (method, path)
        if method in {"post", "patch"} and path != "/api/recommendations/":
            assert {"400", "401", "403"} <= documented, (method, path)
        if "{" in path:
            assert "404" in documented, (method, path)


def test_docs_page_is_served():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.fixture
def small_catalog():
    return build_small_catalog()


@pytest.fixture
def token_client(small_catalog, django_user_model):
    user = django_user_model.objects.create_user("integration")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["add_product", "change_product", "view_product", "add_productimage"])
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_every_documented_read_answers_with_its_documented_shape(schema, token_client, small_catalog):
    rebuild_similar_products()
    image = add_product_image(product=small_catalog["p1"], upload=image_upload())
    values = {"sku": "p1", "id": str(image.pk)}
    components = schema["components"]["schemas"]
    checked = 0
    for path, operations in schema["paths"].items():
        if "get" not in operations or not path.startswith("/api/") or path == "/api/schema/":
            continue
        url = path.format(**values)
        response = token_client.get(url)
        documented = operations["get"]["responses"]
        assert str(response.status_code) in documented, (path, response.status_code)
        body_schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), as_json_schema(body_schema, components))
        checked += 1
    assert checked >= 6


def test_documented_writes_answer_with_their_documented_shapes(schema, token_client):
    components = schema["components"]["schemas"]
    calls = [
        ("post", "/api/products/", "/api/products/", {"sku": "NEW", "title": "New", "price": "5.00"}, "json"),
        ("patch", "/api/products/{sku}/", "/api/products/p2/", {"title": "Renamed"}, "json"),
        ("post", "/api/products/{sku}/images/", "/api/products/p2/images/", {"image": image_upload()}, "multipart"),
        ("post", "/api/recommendations/", "/api/recommendations/", {"session_id": "s", "viewed": ["p1"]}, "json"),
    ]
    for method, path, url, body, format in calls:
        response = getattr(token_client, method)(url, body, format=format)
        documented = schema["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (path, response.status_code, response.content)
        body_schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), as_json_schema(body_schema, components))


def test_documented_errors_are_what_clients_get(schema):
    client = APIClient()
    assert "401" in schema["paths"]["/api/products/"]["post"]["responses"]
    assert client.post("/api/products/", {}, format="json").status_code == 401
    assert client.get("/api/products/missing/").status_code == 404
    assert client.get("/api/products/missing/similar/").status_code == 404
