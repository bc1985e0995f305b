"""The API's list filters on PostgreSQL: a huge filter is refused, the largest accepted one is quick.

A statement timeout on the test's connection turns a runaway plan into a failure within seconds
(1,500 tag values once kept a PostgreSQL backend busy for over ten minutes).
"""

import time
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import Product
from storefront.api.query_params import MAX_SEARCH_TERMS
from storefront.filters import MAX_FILTER_VALUES
from tagging.models import Facet, ProductTag, Tag

pytestmark = [pytest.mark.scale, pytest.mark.django_db]

PRODUCTS = 1500
TAGS_PER_FACET = 24


@pytest.fixture
def catalog_with_tags(assert_scale_backends):
    tags = Tag.objects.bulk_create(
        Tag(facet=facet, slug=f"{facet}-{index}", name=f"{facet} {index}")
        for facet in (Facet.COLOUR, Facet.MATERIAL, Facet.STYLE)
        for index in range(TAGS_PER_FACET)
    )
    products = Product.objects.bulk_create(
        Product(sku=f"PG-{index}", title=f"Product {index}", price=Decimal(index % 90), status=Product.Status.ACTIVE)
        for index in range(PRODUCTS)
    )
    ProductTag.objects.bulk_create(
        ProductTag(product=product, tag=tags[(index * 7 + offset * 13) % len(tags)], confidence=0.9)
        for index, product in enumerate(products)
        for offset in range(6)
    )
    ProductTag.objects.update(status=ProductTag.Status.APPLIED)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '5s'")
    yield tags
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")


@pytest.mark.parametrize("url", ["/api/products/", "/api/facets/"])
def test_fifteen_hundred_tag_values_are_refused_before_any_query(catalog_with_tags, url):
    started = time.monotonic()
    response = APIClient().get(url, {"tag": ",".join(f"colour:v{index}" for index in range(1500))})
    assert response.status_code == 400
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("url", ["/api/products/", "/api/facets/"])
def test_the_largest_accepted_filter_answers_within_a_second(catalog_with_tags, url):
    tags = catalog_with_tags
    query = {
        "tag": ",".join(f"{tag.facet}:{tag.slug}" for tag in tags[:2]),
        "search": " ".join(["product", *(str(index) for index in range(MAX_SEARCH_TERMS - 1))]),
    }
    for facet in (Facet.COLOUR, Facet.MATERIAL, Facet.STYLE):
        query[facet] = ",".join([tag.slug for tag in tags if tag.facet == facet][:MAX_FILTER_VALUES])
    started = time.monotonic()
    response = APIClient().get(url, query)
    assert response.status_code == 200, response.content
    assert time.monotonic() - started < 1


def test_twenty_tags_all_required_answer_within_a_second(catalog_with_tags):
    tags = catalog_with_tags
    values = ",".join(f"{tag.facet}:{tag.slug}" for tag in tags[:MAX_FILTER_VALUES])
    started = time.monotonic()
    response = APIClient().get("/api/products/", {"tag": values})
    assert response.status_code == 200, response.content
    assert time.monotonic() - started < 1
