"""Neighbour refreshes: tag changes within one window share one refresh task."""

import time

import pytest
from django.core.cache import cache
from django_q.models import OrmQ

from recommendations import tasks
from recommendations.models import SimilarProduct
from recommendations.services import rebuild_similar_products

pytestmark = pytest.mark.django_db


def queued_functions() -> list[str]:
    return [row.func() for row in OrmQ.objects.all()]


def test_changes_within_one_window_queue_one_drain_task(monkeypatch):
    monkeypatch.setattr("recommendations.tasks.REFRESH_WINDOW_SECONDS", 3600)

    for product_id in (1, 2, 3, 2, 5):
        tasks.enqueue_similar_refresh(product_ids=[product_id])

    assert queued_functions() == [tasks.DRAIN_TASK]


def test_the_drain_refreshes_every_product_changed_in_its_window(small_catalog, monkeypatch):
    monkeypatch.setattr("recommendations.tasks.REFRESH_WINDOW_SECONDS", 0.2)
    rebuild_similar_products()
    SimilarProduct.objects.all().delete()
    number = int(time.time() // 0.2)
    tasks.enqueue_similar_refresh(product_ids=[small_catalog["p1"].pk])
    tasks.enqueue_similar_refresh(product_ids=[small_catalog["p4"].pk])

    tasks.drain_similar_refresh_window_task(number)

    listed = set(SimilarProduct.objects.values_list("product_id", flat=True))
    assert {small_catalog["p1"].pk, small_catalog["p4"].pk} <= listed


def test_a_change_after_its_window_closed_is_refreshed_on_its_own(monkeypatch):
    monkeypatch.setattr("recommendations.tasks.REFRESH_WINDOW_SECONDS", 3600)
    number = int(time.time() // 3600)
    tasks.enqueue_similar_refresh(product_ids=[1])
    OrmQ.objects.all().delete()
    cache.set(tasks._key(number, "closed"), True)  # the drain has read the slots, not yet cleared them

    tasks.enqueue_similar_refresh(product_ids=[4])

    assert queued_functions() == [tasks.REFRESH_TASK]


def test_a_drain_passes_its_products_on_while_another_refresh_runs(monkeypatch):
    monkeypatch.setattr("recommendations.tasks.REFRESH_WINDOW_SECONDS", 0.2)
    number = int(time.time() // 0.2)
    tasks.enqueue_similar_refresh(product_ids=[7])
    cache.add(tasks._RUNNING_KEY, True)

    assert tasks.drain_similar_refresh_window_task(number) == 0

    later = int(time.time() // 0.2)
    assert later > number
    assert cache.get(tasks._key(later, 0)) == [7]
