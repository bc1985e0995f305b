"""The storefront product API: filters, facets, visibility, detail shape and query counts."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import add_product_image, category_from_path
from tagging.models import Facet, ImageAnalysis, ProductTag
from tests.factories import ProductFactory, TagFactory, image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


def tag(product, facet, slug, status=ProductTag.Status.APPLIED, confidence=0.95):
    return ProductTag.objects.create(
        product=product,
        tag=TagFactory(facet=facet, name=slug),
        status=status,
        confidence=confidence,
        evidence=ProductTag.Evidence.VISION,
    )


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["sku"] for item in response.json()["results"])


@pytest.fixture
def shelf():
    """Four active products in a small tree, plus a held and a draft one."""
    kitchen = category_from_path(path="Home/Kitchen")
    knives = category_from_path(path="Home/Kitchen/Knives")
    garden = category_from_path(path="Home/Garden")
    products = {
        "red-knife": ProductFactory(sku="red-knife", title="Chef knife", category=knives, price=Decimal("80")),
        "blue-pan": ProductFactory(sku="blue-pan", title="Frying pan", category=kitchen, price=Decimal("40")),
        "navy-pot": ProductFactory(
            sku="navy-pot", title="Stock pot", description="Steel pot for soup", category=kitchen, price=Decimal("60")
        ),
        "red-hose": ProductFactory(sku="red-hose", title="Garden hose", category=garden, price=Decimal("25")),
        "held-knife": ProductFactory(sku="held-knife", category=knives, status=Product.Status.HELD),
        "draft-pan": ProductFactory(sku="draft-pan", category=kitchen, status=Product.Status.DRAFT),
    }
    tag(products["red-knife"], Facet.COLOUR, "red")
    tag(products["red-knife"], Facet.MATERIAL, "steel")
    tag(products["blue-pan"], Facet.COLOUR, "blue")
    tag(products["navy-pot"], Facet.COLOUR, "navy")
    tag(products["navy-pot"], Facet.MATERIAL, "steel")
    tag(products["red-hose"], Facet.COLOUR, "red")
    tag(products["blue-pan"], Facet.COLOUR, "red", status=ProductTag.Status.NEEDS_REVIEW)
    tag(products["held-knife"], Facet.COLOUR, "red")
    tag(products["draft-pan"], Facet.COLOUR, "blue")
    return products


def test_anonymous_list_shows_only_active_products(client, shelf):
    assert skus(client.get("/api/products/")) == ["blue-pan", "navy-pot", "red-hose", "red-knife"]


def test_anonymous_detail_of_held_or_draft_product_is_not_found(client, shelf):
    assert client.get("/api/products/held-knife/").status_code == 404
    assert client.get("/api/products/draft-pan/").status_code == 404


def test_detail_ignores_the_lists_filters_search_and_ordering(client, shelf):
    response = client.get(
        "/api/products/red-knife/", {"tag": "colour:blue", "search": "hose", "max_price": "10", "ordering": "-price"}
    )
    assert response.status_code == 200
    assert response.json()["sku"] == "red-knife"


def test_staff_with_view_permission_sees_every_status(client, shelf, django_user_model):
    staff = django_user_model.objects.create_user("staff", is_superuser=True)
    client.force_authenticate(staff)
    assert len(skus(client.get("/api/products/"))) == 6


def test_category_filter_includes_sub_categories(client, shelf):
    assert skus(client.get("/api/products/", {"category": "home/kitchen"})) == ["blue-pan", "navy-pot", "red-knife"]


def test_category_filter_does_not_match_a_sibling_with_the_same_prefix(client, shelf):
    category_from_path(path="Home/Kitchenware")
    assert skus(client.get("/api/products/", {"category": "home/kitchen/knives"})) == ["red-knife"]


def test_tag_filter_matches_applied_tags_only(client, shelf):
    assert skus(client.get("/api/products/", {"tag": "colour:red"})) == ["red-hose", "red-knife"]


def test_several_tags_must_all_be_present(client, shelf):
    assert skus(client.get("/api/products/", {"tag": "colour:red,material:steel"})) == ["red-knife"]


def test_several_tags_of_one_facet_match_any_of_them(client, shelf):
    assert skus(client.get("/api/products/", {"colour": "blue,navy"})) == ["blue-pan", "navy-pot"]


def test_facets_combine_with_and(client, shelf):
    assert skus(client.get("/api/products/", {"colour": "red,navy", "material": "steel"})) == ["navy-pot", "red-knife"]


def test_price_range_is_inclusive(client, shelf):
    assert skus(client.get("/api/products/", {"min_price": "40", "max_price": "60"})) == ["blue-pan", "navy-pot"]


def test_search_matches_title_or_description(client, shelf):
    assert skus(client.get("/api/products/", {"search": "soup"})) == ["navy-pot"]
    assert skus(client.get("/api/products/", {"search": "knife"})) == ["red-knife"]


def test_ordering_by_price(client, shelf):
    response = client.get("/api/products/", {"ordering": "price"})
    assert [item["sku"] for item in response.json()["results"]] == ["red-hose", "blue-pan", "navy-pot", "red-knife"]


def test_cursor_pagination_walks_every_product_once(client, shelf):
    seen, url = [], "/api/products/?page_size=3"
    while url:
        page = client.get(url).json()
        assert "count" not in page  # cursor pages never count the table
        seen += [item["sku"] for item in page["results"]]
        url = page["next"]
    assert sorted(seen) == ["blue-pan", "navy-pot", "red-hose", "red-knife"]


def test_facet_counts_follow_the_current_filter(client, shelf):
    body = client.get("/api/facets/", {"category": "home/kitchen"}).json()
    assert body["count"] == 3
    colours = {row["slug"]: row["count"] for row in body["facets"]["colour"]}
    assert colours == {"red": 1, "blue": 1, "navy": 1}
    assert body["facets"]["material"] == [{"slug": "steel", "name": "steel", "count": 2}]


def test_facet_counts_ignore_held_products_for_anonymous_clients(client, shelf):
    colours = {row["slug"]: row["count"] for row in client.get("/api/facets/").json()["facets"]["colour"]}
    assert colours["red"] == 2
    assert colours["blue"] == 1


def test_detail_has_images_tags_by_facet_and_quality(client, shelf):
    product = shelf["red-knife"]
    image = add_product_image(product=product, upload=image_upload())
    ImageAnalysis.objects.create(image=image, status=ImageAnalysis.Status.SUCCEEDED, quality_score=7.5)
    body = client.get("/api/products/red-knife/").json()
    assert body["images"][0]["width"] == 320
    assert body["images"][0]["height"] == 240
    assert body["images"][0]["url"].startswith("http://testserver/")
    assert {facet: [t["slug"] for t in tags] for facet, tags in body["tags"].items()} == {
        "colour": ["red"],
        "material": ["steel"],
    }
    assert body["quality_score"] == 7.5
    assert body["category"]["path"] == "home/kitchen/knives"


def test_detail_leaves_out_tags_waiting_for_review(client, shelf):
    assert client.get("/api/products/blue-pan/").json()["tags"] == {
        "colour": [
            {"slug": "blue", "name": "blue", "confidence": 0.95, "band": "high", "source": "ai", "evidence": "vision"}
        ]
    }


def test_list_query_count_does_not_grow_with_page_size(client, django_assert_max_num_queries):
    products = ProductFactory.create_batch(30)
    for index, product in enumerate(products):
        tag(product, Facet.COLOUR, "green")
        tag(product, Facet.MATERIAL, f"material-{index}")
        add_product_image(product=product, upload=image_upload(colour=(index * 8, 90, 90)))
    # The page, its images and its applied tags: three queries for 30 products as for one.
    with django_assert_max_num_queries(3):
        response = client.get("/api/products/", {"colour": "green", "page_size": 30})
    results = response.json()["results"]
    assert len(results) == 30
    assert all(row["primary_image"] is not None and len(row["tags"]["material"]) == 1 for row in results)


def test_list_rows_carry_the_first_image_and_the_applied_tags(client, shelf):
    product = shelf["red-knife"]
    second = add_product_image(product=product, upload=image_upload(colour=(1, 2, 3)), position=5)
    first = add_product_image(product=product, upload=image_upload(colour=(9, 9, 9)), position=1)
    rows = {row["sku"]: row for row in client.get("/api/products/").json()["results"]}
    image = rows["red-knife"]["primary_image"]
    assert image["id"] == first.pk != second.pk
    assert (image["width"], image["height"]) == (320, 240)
    assert image["url"].startswith("http://testserver/")
    assert {facet: [t["slug"] for t in tags] for facet, tags in rows["red-knife"]["tags"].items()} == {
        "colour": ["red"],
        "material": ["steel"],
    }
    assert rows["blue-pan"]["primary_image"] is None
    assert [t["slug"] for t in rows["blue-pan"]["tags"]["colour"]] == ["blue"]  # the waiting "red" is left out


def test_detail_query_count_is_bounded(client, shelf, django_assert_max_num_queries):
    for position in range(3):
        add_product_image(product=shelf["red-knife"], upload=image_upload(colour=(10 * position, 90, 90)))
    with django_assert_max_num_queries(4):
        assert client.get("/api/products/red-knife/").status_code == 200


def test_tag_list_shows_the_canonical_vocabulary(client, shelf):
    results = client.get("/api/tags/", {"facet": "material", "limit": 1000}).json()["results"]
    assert {"facet": "material", "slug": "steel", "name": "steel"} in results
    assert {row["facet"] for row in results} == {"material"}


def test_cached_facet_counts_are_kept_apart_per_filter(client, shelf):
    assert client.get("/api/facets/", {"category": "home/garden"}).json()["count"] == 1
    assert client.get("/api/facets/", {"category": "home/kitchen"}).json()["count"] == 3
    assert client.get("/api/facets/").json()["count"] == 4
