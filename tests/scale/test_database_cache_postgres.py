"""The database cache on PostgreSQL (a deployment with DATABASE_URL but no Redis): counting
from many threads loses nothing, so spend caps hold."""

from decimal import Decimal

import pytest

from tests.config.counting_under_threads import (
    eight_threads_counting_fifty_times_each,
    thirty_reservations_of_ten_cents_under_a_one_dollar_cap,
)

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]


def test_no_increment_is_lost(database_cache):
    assert eight_threads_counting_fifty_times_each() == 400


def test_a_spend_cap_holds_against_concurrent_reservations(database_cache):
    assert thirty_reservations_of_ten_cents_under_a_one_dollar_cap() == (10, Decimal("1.000000"))
