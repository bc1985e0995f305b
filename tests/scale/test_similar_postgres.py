"""Similar products on PostgreSQL, which sorts NULL categories last where SQLite sorts them
first (the scenarios: tests/recommendations/similar_scenarios.py)."""

import pytest

from tests.recommendations.similar_scenarios import SCENARIOS

pytestmark = [pytest.mark.scale, pytest.mark.django_db]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_similar_products_on_postgresql(assert_scale_backends, scenario):
    scenario()
