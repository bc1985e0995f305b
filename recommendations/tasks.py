"""django-q2 entry points: ids in, a service call, safe to run twice.

Neighbour refreshes are coalesced. Tag changes arrive one image at a time (hundreds a second
in a backfill) and the products they touch share most of their neighbours, so one refresh
of many products costs little more than a refresh of one. Changes are therefore gathered per
time window of REFRESH_WINDOW_SECONDS (0 turns it off):
each change stores its product ids in the window's next free slot (claimed with the cache's
atomic ``add``), and the change that claims slot 0 queues the one drain task of that window.
The drain waits for the window to end, marks it closed and refreshes everything the slots
hold in one call; if another drain is still refreshing, it passes its products on to the
open window instead, so the gathered batch grows and refreshes run one at a time. A change
that lands after its window closed is refreshed on its own.
"""

import time

from django.conf import settings
from django.core.cache import cache

from config.queue import enqueue, tasks_run_inline

REFRESH_TASK = "recommendations.tasks.refresh_similar_products_task"
DRAIN_TASK = "recommendations.tasks.drain_similar_refresh_window_task"
_PREFIX = "recommendations:refresh-window"
_SLOT_BATCH = 100
_RUNNING_KEY = f"{_PREFIX}:running"
# Tag changes within this many seconds share one neighbour-list refresh; 0 refreshes each alone.
REFRESH_WINDOW_SECONDS = 1.0


def enqueue_similar_refresh(*, product_ids: list[int]) -> str | None:
    """Make sure the lists of ``product_ids`` are refreshed soon; returns a task id when one was queued."""
    window = _window_seconds()
    if window <= 0 or tasks_run_inline():  # inline tasks (tests, one-off scripts): nothing to gather
        return _refresh_now(product_ids)
    ids = sorted({int(product_id) for product_id in product_ids})
    if not ids:
        return None
    number = int(time.time() // window)
    slot = _claim_slot(number, ids, window=window)
    task_id = None
    if slot == 0:
        task_id = enqueue(DRAIN_TASK, number, task_name=f"refresh-similar-window-{number}", group="similar-products")
    if cache.get(_key(number, "closed")):
        task_id = _refresh_now(ids)  # the drain may have read the slots before this one was written
    return task_id


def refresh_similar_products_task(product_ids: list[int]) -> int:
    from recommendations.services import refresh_similar_products

    return refresh_similar_products(product_ids=product_ids)


def drain_similar_refresh_window_task(number: int) -> int:
    """Refresh every product changed during window ``number``; returns how many lists were written."""
    from recommendations.services import refresh_similar_products

    window = _window_seconds() or 1.0
    wait = (number + 1) * window - time.time()
    if wait > 0:
        time.sleep(wait)
    cache.set(_key(number, "closed"), True, timeout=_ttl(window))
    product_ids: set[int] = set()
    keys: list[str] = []
    start = 0
    while True:
        batch = [_key(number, start + offset) for offset in range(_SLOT_BATCH)]
        found = cache.get_many(batch)
        for key in batch:
            if key not in found:
                break  # slots are claimed in order, so the first empty one ends the list
            product_ids.update(found[key])
            keys.append(key)
        else:
            start += _SLOT_BATCH
            continue
        break
    written = 0
    if product_ids and not cache.add(_RUNNING_KEY, True, timeout=_running_ttl()):
        # Another refresh is running: hand these on to the window now open rather than run
        # side by side, so refreshes never take more than one worker from tagging.
        enqueue_similar_refresh(product_ids=sorted(product_ids))
    elif product_ids:
        try:
            written = refresh_similar_products(product_ids=sorted(product_ids))
        finally:
            cache.delete(_RUNNING_KEY)
    cache.delete_many([*keys, _key(number, "next")])
    return written


def _refresh_now(product_ids) -> str:
    return enqueue(REFRESH_TASK, sorted(product_ids), task_name="refresh-similar", group="similar-products")


def _claim_slot(number: int, ids: list[int], *, window: float) -> int:
    """The first free slot of the window, now holding ``ids``. Every slot below a claimed one is
    claimed too (a writer only moves past slots it failed to add), so the drain stops at the
    first gap. The ``next`` hint only saves probes; a stale one is harmless."""
    ttl = _ttl(window)
    slot = cache.get(_key(number, "next")) or 0
    while not cache.add(_key(number, slot), ids, timeout=ttl):
        slot += 1
    cache.set(_key(number, "next"), slot + 1, timeout=ttl)
    return slot


def _key(number: int, name) -> str:
    return f"{_PREFIX}:{number}:{name}"


def _ttl(window: float) -> int:
    # Long enough for a drain stuck behind a full queue; a change older than that waits for the
    # next change of its products or a rebuild (docs/scaling.md).
    return int(window * 10 + 3600)


def _running_ttl() -> int:
    # A drain that died holding the mark lets the next one run once its task could no longer be running.
    return int(settings.Q_CLUSTER.get("timeout") or 300)


def _window_seconds() -> float:
    return REFRESH_WINDOW_SECONDS
