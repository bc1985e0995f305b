"""Neighbour rows on PostgreSQL, where they travel as array literals rather than JSON (the
scenarios: tests/recommendations/neighbour_rows_scenarios.py)."""

import pytest

from tests.recommendations.neighbour_rows_scenarios import SCENARIOS

pytestmark = [pytest.mark.scale, pytest.mark.django_db]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_neighbour_rows_on_postgresql(assert_scale_backends, scenario):
    scenario()
