"""Anonymous query strings cannot build unbounded queries: list filters, search, page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from storefront.filters import MAX_FILTER_VALUES
from tagging.models import Facet, ProductTag
from tests.factories import ProductFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def tagged():
    red, steel, oak = TagFactory(name="red"), TagFactory(facet=Facet.MATERIAL, name="steel"), TagFactory(name="oak")
    both, only_red = ProductFactory(sku="both"), ProductFactory(sku="only-red")
    for product, tags in ((both, (red, steel)), (only_red, (red,))):
        for tag in tags:
            ProductTag.objects.create(product=product, tag=tag, confidence=0.9, status=ProductTag.Status.APPLIED)
    ProductTag.objects.create(product=only_red, tag=oak, confidence=0.5, status=ProductTag.Status.NEEDS_REVIEW)


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["sku"] for item in response.json()["results"])


@pytest.mark.parametrize("url", ["/api/products/", "/api/facets/"])
@pytest.mark.parametrize("parameter", ["tag", "colour", "material", "category_tag"])
def test_a_thousand_list_values_are_refused_with_a_clear_400(client, tagged, url, parameter):
    response = client.get(url, {parameter: ",".join(f"v{index}" for index in range(1000))})
    assert response.status_code == 400
    assert f"At most {MAX_FILTER_VALUES} different values" in response.json()[parameter][0]


def test_repeated_values_count_once(client, tagged):
    repeated = ",".join(["colour:red"] * 1000 + ["material:steel"] * 1000)
    assert skus(client.get("/api/products/", {"tag": repeated})) == ["both"]


@pytest.mark.parametrize("parameter", ["tag", "colour", "category"])
def test_an_overlong_value_is_refused(client, tagged, parameter):
    response = client.get("/api/products/", {parameter: "x" * 2000})
    assert response.status_code == 400
    assert parameter in response.json()


def test_all_tags_filter_is_one_subquery_whatever_the_number_of_values(client, tagged):
    values = ["colour:red", "material:steel", "oak", *(f"colour:c{index}" for index in range(MAX_FILTER_VALUES - 3))]
    with CaptureQueriesContext(connection) as queries:
        assert skus(client.get("/api/products/", {"tag": ",".join(values)})) == []
    listing = next(query["sql"] for query in queries.captured_queries if "catalog_product" in query["sql"])
    assert listing.count("tagging_producttag") == 1


def test_all_tags_filter_needs_every_value_and_applied_tags_only(client, tagged):
    assert skus(client.get("/api/products/", {"tag": "red,material:steel"})) == ["both"]
    assert skus(client.get("/api/products/", {"tag": "colour:red"})) == ["both", "only-red"]
    assert skus(client.get("/api/products/", {"tag": "red,colour:red"})) == ["both", "only-red"]
    assert skus(client.get("/api/products/", {"tag": "red,oak"})) == []


@pytest.mark.parametrize("url", ["/api/products/", "/api/facets/"])
def test_a_thousand_search_words_are_refused(client, tagged, url):
    response = client.get(url, {"search": " ".join(f"w{index}" for index in range(1000))})
    assert response.status_code == 400
    assert "search" in response.json()


@pytest.mark.parametrize("page_size", ["null", "", "-1", "0", "1.5", "ten"])
def test_a_page_size_that_is_not_a_whole_number_is_refused(client, tagged, page_size):
    response = client.get("/api/products/", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_a_large_page_size_is_capped(client, tagged):
    assert len(client.get("/api/products/", {"page_size": "100000"}).json()["results"]) == 2
