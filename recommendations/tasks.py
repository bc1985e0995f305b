"""django-q2 entry points: ids in, a service call, safe to run twice.

Neighbour refreshes are gathered. Tag changes arrive a batch at a time (many a second in a
backfill) and the products they touch share most of their neighbours, so one refresh of many
products costs little more than a refresh of one. Changes therefore gather in the open
*window*: each change stores its product ids in the window's next free slot (claimed with the
cache's atomic ``add``), and the change that claims slot 0 queues the window's one drain task.
The window stays open for as long as that task waits in the queue, with no timer: the drain
closes it (the next change opens a new window and queues the next drain), then refreshes
everything the slots hold in one call. Refreshes run one at a time: a drain that finds another
refreshing leaves its window open for that one to take when it is done. A change that finds its
window closed once its ids are stored refreshes them on its own: the drain may have read the
slots before they were written.
"""

import uuid

from django.conf import settings
from django.core.cache import cache

from config.queue import enqueue, tasks_run_inline
from recommendations.services import refresh_similar_products

REFRESH_TASK = "recommendations.tasks.refresh_similar_products_task"
DRAIN_TASK = "recommendations.tasks.drain_similar_refresh_window_task"
OPEN_WINDOW_KEY = "recommendations:refresh-window:open"
RUNNING_KEY = "recommendations:refresh-window:running"
_SLOT_BATCH = 100
# Long enough for a drain stuck behind a full queue; a change older than that waits for the
# next change of its products or a rebuild (docs/scaling.md).
_SLOT_TTL = 3600


def enqueue_similar_refresh(*, product_ids: list[int]) -> str | None:
    """Make sure the lists of ``product_ids`` are refreshed soon; returns a task id when one was queued."""
    ids = sorted({int(product_id) for product_id in product_ids})
    if not ids:
        return None
    if tasks_run_inline():  # tests and one-off scripts run tasks at once: nothing to gather
        return _refresh_now(ids)
    window = open_window()
    task_id = None
    if _claim_slot(window, ids) == 0:
        task_id = enqueue(DRAIN_TASK, window, task_name="refresh-similar-window", group="similar-products")
    if open_window() != window:
        task_id = _refresh_now(ids)  # the drain may have read the slots before this one was written
    return task_id


def open_window() -> str:
    """The name of the window changes are gathered in now."""
    cache.add(OPEN_WINDOW_KEY, uuid.uuid4().hex, None)
    return cache.get(OPEN_WINDOW_KEY)


def refresh_similar_products_task(product_ids: list[int]) -> int:
    return refresh_similar_products(product_ids=product_ids)


def drain_similar_refresh_window_task(window: str) -> int:
    """Close ``window`` and refresh every product changed in it, then any window filled while
    that ran; returns how many lists were written.

    While another drain refreshes, this one leaves its window open and returns: the running
    drain takes the open window when it is done, so a wait costs no worker.
    """
    written = 0
    while cache.add(RUNNING_KEY, True, timeout=_running_ttl()):
        try:
            if cache.get(OPEN_WINDOW_KEY) == window:
                # Only the drain holding the running mark closes a window, so a plain set is safe.
                cache.set(OPEN_WINDOW_KEY, uuid.uuid4().hex, None)
            product_ids, keys = _gathered(window)
            if product_ids:
                written += refresh_similar_products(product_ids=sorted(product_ids))
            cache.delete_many([*keys, _key(window, "next")])
        finally:
            cache.delete(RUNNING_KEY)
        # Changes made meanwhile whose own drain found this one running wait in the open window.
        window = open_window()
        if cache.get(_key(window, 0)) is None:
            break
    return written


def _gathered(window: str) -> tuple[set[int], list[str]]:
    """The product ids stored in the window's slots, and the slots' keys."""
    product_ids: set[int] = set()
    keys: list[str] = []
    start = 0
    while True:
        batch = [_key(window, start + offset) for offset in range(_SLOT_BATCH)]
        found = cache.get_many(batch)
        for key in batch:
            if key not in found:
                return product_ids, keys  # slots are claimed in order: the first empty one ends the list
            product_ids.update(found[key])
            keys.append(key)
        start += _SLOT_BATCH


def _refresh_now(product_ids) -> str:
    return enqueue(REFRESH_TASK, sorted(product_ids), task_name="refresh-similar", group="similar-products")


def _claim_slot(window: str, ids: list[int]) -> int:
    """The first free slot of the window, now holding ``ids``. Every slot below a claimed one is
    claimed too (a writer only moves past slots it failed to add), so the drain stops at the
    first gap. The ``next`` hint only saves probes; a stale one is harmless."""
    slot = cache.get(_key(window, "next")) or 0
    while not cache.add(_key(window, slot), ids, timeout=_SLOT_TTL):
        slot += 1
    cache.set(_key(window, "next"), slot + 1, timeout=_SLOT_TTL)
    return slot


def _key(window: str, name) -> str:
    return f"recommendations:refresh-window:{window}:{name}"


def _running_ttl() -> int:
    # A drain that died holding the mark lets the next one run once its task could no longer be running.
    return int(settings.Q_CLUSTER.get("timeout") or 300)
