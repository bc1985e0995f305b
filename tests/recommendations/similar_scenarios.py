"""What similar products must be on every database.

tests/recommendations/test_similar.py runs each scenario on the suite's database,
tests/scale/test_similar_postgres.py on PostgreSQL, which sorts NULL categories last where
SQLite sorts them first.
"""

import pytest

from recommendations import similarity
from tests.recommendations.catalogs import build_skewed_catalog


def scoring_many_products_at_once_matches_the_full_rebuild_on_a_skewed_catalog():
    products = build_skewed_catalog()
    full: dict[int, list] = {}
    for chunk in similarity.all_neighbours():
        for item in chunk:
            full.setdefault(item.product_id, []).append(item)

    many = similarity.neighbours_of_many(product_ids=[product.pk for product in products])

    assert {key: value for key, value in many.items() if value} == full
    assert all(many[product.pk] == [] for product in products if product.status == "held")


SCENARIOS = [
    pytest.param(scenario, id=scenario.__name__)
    for scenario in (scoring_many_products_at_once_matches_the_full_rebuild_on_a_skewed_catalog,)
]
