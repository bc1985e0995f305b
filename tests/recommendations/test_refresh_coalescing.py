"""Neighbour refreshes: tag changes gathered while the drain task waits share one refresh."""

import pytest
from django.core.cache import cache
from django_q.models import OrmQ

from recommendations import tasks
from recommendations.models import SimilarProduct
from recommendations.services import rebuild_similar_products

pytestmark = pytest.mark.django_db


def queued() -> list[tuple[str, tuple]]:
    return [(row.func(), row.task["args"]) for row in OrmQ.objects.order_by("pk")]


def test_changes_before_the_drain_runs_queue_one_drain_task():
    for product_id in (1, 2, 3, 2, 5):
        tasks.enqueue_similar_refresh(product_ids=[product_id])

    assert [func for func, _args in queued()] == [tasks.DRAIN_TASK]


def test_the_drain_refreshes_every_product_changed_in_its_window(small_catalog):
    rebuild_similar_products()
    SimilarProduct.objects.all().delete()
    tasks.enqueue_similar_refresh(product_ids=[small_catalog["p1"].pk])
    tasks.enqueue_similar_refresh(product_ids=[small_catalog["p4"].pk])
    ((_func, (window,)),) = queued()

    written = tasks.drain_similar_refresh_window_task(window)

    listed = set(SimilarProduct.objects.values_list("product_id", flat=True))
    assert {small_catalog["p1"].pk, small_catalog["p4"].pk} <= listed
    assert written >= 2


def test_a_change_after_the_drain_ran_opens_a_new_window_with_its_own_drain():
    tasks.enqueue_similar_refresh(product_ids=[1])
    ((_func, (first,)),) = queued()
    tasks.drain_similar_refresh_window_task(first)
    OrmQ.objects.all().delete()

    tasks.enqueue_similar_refresh(product_ids=[4])
    tasks.enqueue_similar_refresh(product_ids=[6])

    ((func, (second,)),) = queued()
    assert func == tasks.DRAIN_TASK
    assert second != first


def test_a_change_whose_window_closed_while_it_stored_its_ids_is_refreshed_on_its_own(monkeypatch):
    tasks.enqueue_similar_refresh(product_ids=[1])
    ((_func, (window,)),) = queued()
    OrmQ.objects.all().delete()
    opened = iter([window, "the window the drain opened"])
    # The drain closes the window between this change reading it and checking it again.
    monkeypatch.setattr(tasks, "open_window", lambda: next(opened))

    tasks.enqueue_similar_refresh(product_ids=[4])

    assert queued() == [(tasks.REFRESH_TASK, ([4],))]


def test_a_drain_that_finds_another_refreshing_leaves_its_window_open_and_queues_nothing():
    tasks.enqueue_similar_refresh(product_ids=[7])
    ((_func, (window,)),) = queued()
    OrmQ.objects.all().delete()
    cache.add(tasks.RUNNING_KEY, True)

    assert tasks.drain_similar_refresh_window_task(window) == 0

    assert queued() == []
    assert tasks.open_window() == window


def test_a_drain_then_takes_the_window_filled_while_it_refreshed(small_catalog, monkeypatch):
    rebuild_similar_products()
    SimilarProduct.objects.all().delete()
    p1, p4 = small_catalog["p1"].pk, small_catalog["p4"].pk
    tasks.enqueue_similar_refresh(product_ids=[p1])
    ((_func, (first,)),) = queued()
    OrmQ.objects.all().delete()
    refreshed: list[list[int]] = []
    refresh = tasks.refresh_similar_products

    def refresh_while_p4_changes(*, product_ids):
        refreshed.append(list(product_ids))
        if len(refreshed) == 1:
            tasks.enqueue_similar_refresh(product_ids=[p4])  # its drain would find this one running
        return refresh(product_ids=product_ids)

    monkeypatch.setattr(tasks, "refresh_similar_products", refresh_while_p4_changes)

    tasks.drain_similar_refresh_window_task(first)

    assert refreshed == [[p1], [p4]]
    assert {p1, p4} <= set(SimilarProduct.objects.values_list("product_id", flat=True))
    ((_func, (second,)),) = queued()
    assert tasks.drain_similar_refresh_window_task(second) == 0  # nothing left for the window's own drain
