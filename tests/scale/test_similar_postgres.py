"""Similar products on PostgreSQL, which sorts NULL categories last where SQLite sorts them first."""

import pytest

from tests.recommendations.test_similar import (
    test_scoring_many_products_at_once_matches_the_full_rebuild_on_a_skewed_catalog as compare_rebuild_and_refresh,
)

pytestmark = [pytest.mark.scale, pytest.mark.django_db]


def test_the_full_rebuild_matches_the_refresh_on_postgresql_with_uncategorised_products(assert_scale_backends):
    compare_rebuild_and_refresh()
