"""Neighbour rows written in one statement, on the suite's database (the scenarios:
tests/recommendations/neighbour_rows_scenarios.py)."""

import pytest

from tests.recommendations.neighbour_rows_scenarios import SCENARIOS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_neighbour_rows(scenario):
    scenario()
