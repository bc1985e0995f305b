"""Telling the outside world that products' tags changed: a signal, and an optional webhook.

Both fire only after the transaction that changed the tags commits. Webhook deliveries (records,
signing, retries, replay) live in tagging.webhooks; docs/webhooks.md describes what receivers get.
"""

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from tagging import webhooks
from tagging.models import ProductTag
from tagging.signals import tags_changed

_gathering = threading.local()


def announce_tags_changed(*, product_ids: Iterable[int]) -> None:
    """Send ``tags_changed`` (and queue the webhook) once the current transaction commits."""
    ids = {int(product_id) for product_id in product_ids}
    gathered = getattr(_gathering, "ids", None)
    if gathered is not None:
        gathered |= ids
    elif ids:
        ordered = sorted(ids)
        transaction.on_commit(lambda: _send(ordered))


@contextmanager
def announced_together() -> Iterator[None]:
    """Inside, announcements are gathered; leaving makes one announcement of them all.

    For code that changes many products' tags in one go: listeners (neighbour refreshes, the
    webhook) then run once for the lot instead of once per product. Open it inside the
    transaction, so the one announcement still waits for the commit.
    """
    outer = getattr(_gathering, "ids", None)
    _gathering.ids = set()
    try:
        yield
    finally:
        gathered, _gathering.ids = _gathering.ids, outer
    announce_tags_changed(product_ids=gathered)


def _send(product_ids: list[int]) -> None:
    tags_changed.send(sender=ProductTag, product_ids=product_ids)
    if settings.SHELFSIGHT_WEBHOOK_URL:
        webhooks.enqueue_delivery(event="tags_changed", body=webhooks.tags_changed_body(product_ids=product_ids))


def deliver_webhook(body: str, delivery_round: int = 1) -> None:
    """Tasks and schedules queued by earlier versions name this: the body becomes a recorded delivery."""
    webhooks.enqueue_delivery(event=json.loads(body).get("event", "tags_changed"), body=body)
