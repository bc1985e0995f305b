"""Similar products: tag-overlap ranking, rare tags weigh more, same category boosted."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import set_product_status
from recommendations import similarity
from recommendations.models import SimilarProduct
from recommendations.services import rebuild_similar_products, refresh_similar_products
from tagging.models import ProductTag
from tagging.signals import tags_changed
from tests.factories import ProductFactory
from tests.recommendations.catalogs import apply_tags, idf
from tests.recommendations.similar_scenarios import SCENARIOS

pytestmark = pytest.mark.django_db

# Hand computation for p1 (Kitchen; red, steel, vintage). Five active products, so N = 5;
# red is on p1 p2 p3 p5 (df 4; p5's steel waits for review and p6 is held), steel and
# vintage on three each. Same category (Kitchen) multiplies by 1.5.
RED, STEEL, VINTAGE = (idf(product_count=5, document_frequency=df) for df in (4, 3, 3))
EXPECTED_FOR_P1 = [
    ("p3", RED + STEEL + VINTAGE),  # 3.9933: everything shared, other category
    ("p2", (RED + STEEL) * 1.5),  # 3.8817: two tags, same category
    ("p5", RED * 1.5),  # 1.7735: the common tag only, same category
    ("p4", VINTAGE),  # 1.4055: one rarer tag, other category
]


def similar(sku: str, **params) -> list[tuple[str, float]]:
    response = APIClient().get(f"/api/products/{sku}/similar/", params)
    assert response.status_code == 200, response.content
    return [(item["sku"], item["score"]) for item in response.json()["results"]]


def test_ranking_matches_the_hand_computed_order(small_catalog):
    rebuild_similar_products()
    ranked = similar("p1")
    assert [sku for sku, _ in ranked] == [sku for sku, _ in EXPECTED_FOR_P1]
    assert [score for _, score in ranked] == pytest.approx([score for _, score in EXPECTED_FOR_P1], abs=1e-4)


def test_posting_rows_are_the_applied_tags_of_active_products(small_catalog):
    loose = ProductFactory(sku="loose", title="Uncategorised red cup", category=None)
    apply_tags(loose, "red")
    red = ProductTag.objects.get(product=loose).tag_id
    active = similarity.active_products()
    rows = {tuple(row) for row in similarity._applied_rows(active).tolist()}
    expected = {
        (tag.product_id, tag.tag_id, tag.product.category_id or -1)
        for tag in ProductTag.objects.filter(status=ProductTag.Status.APPLIED, product__status=Product.Status.ACTIVE)
    }
    assert rows == expected
    assert (loose.pk, red, -1) in rows
    assert not any(product_id == small_catalog["held"].pk for product_id, _tag, _category in rows)
    only_red = {tuple(row) for row in similarity._applied_rows(active, [red]).tolist()}
    assert only_red == {row for row in expected if row[1] == red}
    assert similarity._applied_rows(active, []).shape == (0, 3)


def test_held_products_are_never_listed(small_catalog):
    rebuild_similar_products()
    assert "held" not in [sku for sku, _ in similar("p1")]
    assert not SimilarProduct.objects.filter(product=small_catalog["held"]).exists()


def test_a_product_held_after_the_build_disappears_at_once(small_catalog):
    rebuild_similar_products()
    set_product_status(product=small_catalog["p3"], status=Product.Status.HELD, reason="check")
    assert [sku for sku, _ in similar("p1")] == ["p2", "p5", "p4"]


def test_similar_of_a_held_product_is_not_found(small_catalog):
    assert APIClient().get("/api/products/held/similar/").status_code == 404


def test_limit_caps_the_list(small_catalog):
    rebuild_similar_products()
    assert [sku for sku, _ in similar("p1", limit=2)] == ["p3", "p2"]


def test_limit_out_of_range_is_a_bad_request(small_catalog):
    assert APIClient().get("/api/products/p1/similar/", {"limit": 0}).status_code == 400


def test_refresh_of_one_product_gives_the_same_list_as_a_full_rebuild(small_catalog):
    rebuild_similar_products()
    built = list(
        SimilarProduct.objects.order_by("product_id", "rank").values_list("product_id", "neighbour_id", "score")
    )
    SimilarProduct.objects.all().delete()
    refresh_similar_products(product_ids=[product.pk for product in small_catalog.values()])
    refreshed = list(
        SimilarProduct.objects.order_by("product_id", "rank").values_list("product_id", "neighbour_id", "score")
    )
    assert refreshed == built


def test_a_refresh_reads_the_active_products_once_for_the_changed_and_the_affected_lists(small_catalog):
    rebuild_similar_products()

    with CaptureQueriesContext(connection) as queries:
        written = refresh_similar_products(product_ids=[small_catalog["p1"].pk])

    assert written > 1  # p1's list and the lists of the products that list p1
    assert len([query for query in queries if "COALESCE(category_id, -1)" in query["sql"]]) == 1


def test_tag_change_signal_refreshes_the_affected_lists(small_catalog, sync_tasks, django_capture_on_commit_callbacks):
    rebuild_similar_products()
    apply_tags(small_catalog["p4"], "red", "steel")
    with django_capture_on_commit_callbacks(execute=True):
        tags_changed.send(sender=None, product_ids=[small_catalog["p4"].pk])
    # p4 now shares all three tags with p1 (and p1's list, which held p4, was refreshed too).
    assert [sku for sku, _ in similar("p1")][:2] == ["p3", "p4"]


def test_rebuild_command_reports_what_it_wrote(small_catalog, capsys):
    call_command("rebuild_similar_products")
    assert "Wrote 16 neighbour rows" in capsys.readouterr().out


def test_similar_read_costs_two_queries(small_catalog, django_assert_max_num_queries):
    rebuild_similar_products()
    with django_assert_max_num_queries(2):
        APIClient().get("/api/products/p1/similar/")


def test_a_repeated_similar_read_is_answered_from_cache_without_a_query(small_catalog, django_assert_max_num_queries):
    rebuild_similar_products()
    first = APIClient().get("/api/products/p1/similar/").json()
    with django_assert_max_num_queries(0):
        second = APIClient().get("/api/products/p1/similar/").json()
    assert second == first


def test_a_product_held_after_a_cached_read_disappears_at_once(small_catalog):
    rebuild_similar_products()
    assert "p3" in [sku for sku, _ in similar("p1")]
    set_product_status(product=small_catalog["p3"], status=Product.Status.HELD, reason="check")
    assert [sku for sku, _ in similar("p1")] == ["p2", "p5", "p4"]


def test_a_neighbour_refresh_replaces_a_cached_similar_answer(small_catalog):
    rebuild_similar_products()
    apply_tags(small_catalog["p4"], "red", "steel")
    stale = [sku for sku, _ in similar("p1")]  # read after the tag change, before the lists are refreshed
    refresh_similar_products(product_ids=[small_catalog["p4"].pk])
    fresh = [sku for sku, _ in similar("p1")]
    assert stale[:2] != ["p3", "p4"]
    assert fresh[:2] == ["p3", "p4"]


def test_rebuild_drops_the_list_of_a_product_that_lost_its_tags(small_catalog):
    rebuild_similar_products()
    small_catalog["p4"].product_tags.all().delete()
    rebuild_similar_products()
    assert not SimilarProduct.objects.filter(product=small_catalog["p4"]).exists()
    assert "p4" not in [sku for sku, _ in similar("p1")]


def test_rebuild_stores_each_tags_idf_weight(small_catalog):
    from recommendations.models import TagWeight

    rebuild_similar_products()
    red = TagWeight.objects.get(tag__slug="red", tag__facet="colour")
    assert (red.document_frequency, red.weight) == (4, pytest.approx(RED))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_similar_products(scenario):
    scenario()


def test_similar_rows_are_what_the_product_summary_serializer_gives(small_catalog):
    from catalog.api.serializers import ProductSummarySerializer

    small_catalog["p4"].category = None  # a neighbour without a category
    small_catalog["p4"].save()
    rebuild_similar_products()
    results = APIClient().get("/api/products/p1/similar/").json()["results"]
    expected = {
        product.sku: dict(ProductSummarySerializer(product).data)
        for product in Product.objects.filter(sku__in=[row["sku"] for row in results])
    }
    assert [{key: value for key, value in row.items() if key != "score"} for row in results] == [
        expected[row["sku"]] for row in results
    ]
    assert expected["p4"]["category"] is None
