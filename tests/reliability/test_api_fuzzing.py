"""Property-based fuzzing of the public API from its own OpenAPI schema (/api/schema/).

Every operation gets a bounded number of generated requests, sent in-process through the WSGI
application against a small real catalog: no response may be a server error, and every
response must be one the schema documents: its status, its content type and its body.
"""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import ProductFactory, TagFactory

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def catalog_for_fuzzing(db):
    from catalog.services import category_from_path
    from tagging.models import ProductTag

    category = category_from_path(path="Clothing / Shirts")
    red, cotton = TagFactory(name="red"), TagFactory(name="cotton", facet="material")
    for index in range(6):
        product = ProductFactory(sku=f"FUZZ-{index}", category=category)
        for tag in (red, cotton)[: 1 + index % 2]:
            ProductTag.objects.create(product=product, tag=tag, confidence=0.95, status=ProductTag.Status.APPLIED)


def load_schema():
    """The document /api/schema/ serves, generated without a request (no throttle, no database)."""
    from drf_spectacular.generators import SchemaGenerator

    from config.wsgi import application

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document, default=str)))
    loaded.app = application  # calls go in-process through WSGI
    return loaded


# Loaded at collection, because the lazy fixture loader of schemathesis does not work with this
# pytest version; test_published_schema_is_the_one_fuzzed checks it is what the API serves.
schema = load_schema()


def not_a_server_error(ctx, response, case):
    """Any 5xx is a failure, whatever the input."""
    if response.status_code >= 500:
        raise AssertionError(f"{case.method} {case.formatted_path} answered {response.status_code}")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation_never_fails_and_matches_its_schema(case, catalog_for_fuzzing):
    case.call_and_validate(checks=CHECKS)


@pytest.fixture
def integration_token(catalog_for_fuzzing, settings):
    """A token of an integration allowed every catalog write, so writes get past permissions."""
    from django.contrib.auth.models import Permission, User
    from rest_framework.authtoken.models import Token

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = User.objects.create_user("fuzzer")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="catalog"))
    return Token.objects.create(user=user).key


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_authenticated_api_operation_never_fails_and_matches_its_schema(case, integration_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {integration_token}"},
        checks=CHECKS,
    )


@pytest.mark.django_db
def test_published_schema_is_the_one_fuzzed(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert sorted(json.loads(response.content)["paths"]) == sorted(schema.raw_schema["paths"])
