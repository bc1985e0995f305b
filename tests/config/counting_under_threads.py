"""Counting with the database cache from many threads at once, as a cluster's workers do.

Run in its own pytest process on a SQLite file by tests/config/test_cache.py (the suite's
in-memory SQLite fails concurrent writers outright), and on PostgreSQL by
tests/scale/test_database_cache_postgres.py.
"""

import threading
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connections

from llm import budgets
from llm.config import RouteConfig
from llm.pricing import Price


def in_threads(count: int, work) -> list:
    """Run ``work()`` on ``count`` threads released together; their results, each thread's
    database connection closed when it is done."""
    start, results = threading.Barrier(count), []

    def run() -> None:
        start.wait()
        try:
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def eight_threads_counting_fifty_times_each() -> int:
    cache.set("counted", 0, None)
    in_threads(8, lambda: [cache.incr("counted") for _ in range(50)])
    return cache.get("counted")


def thirty_reservations_of_ten_cents_under_a_one_dollar_cap() -> tuple[int, Decimal]:
    """(reservations granted, spend the counter holds afterwards)."""
    route = RouteConfig(name="counted-route", chain=(), daily_budget_usd=Decimal("1.00"))
    budgets.spent(route.name)  # counters exist, as after a route's first call
    price = Price(Decimal("0"), Decimal("100"))  # 1,000 output tokens = $0.10
    results = in_threads(30, lambda: budgets.reserve(route, price=price, input_tokens=0, output_tokens=1000))
    return sum(isinstance(result, budgets.Reservation) for result in results), budgets.spent(route.name)[0]


@pytest.mark.django_db(transaction=True)
def test_no_increment_is_lost(database_cache):
    assert eight_threads_counting_fifty_times_each() == 400


@pytest.mark.django_db(transaction=True)
def test_a_spend_cap_holds_against_concurrent_reservations(database_cache):
    assert thirty_reservations_of_ten_cents_under_a_one_dollar_cap() == (10, Decimal("1.000000"))
