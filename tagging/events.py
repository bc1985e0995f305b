"""Telling the outside world that products' tags changed: a signal, and an optional webhook.

Both fire only after the transaction that changed the tags commits. The webhook body is
signed with HMAC-SHA256 under SHELFSIGHT_WEBHOOK_SECRET; receivers recompute it over the
raw body and compare with the ``X-Shelfsight-Signature`` header ("sha256=<hex>").
"""

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tagging.signals import tags_changed

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Shelfsight-Signature"
EVENT_HEADER = "X-Shelfsight-Event"
WEBHOOK_TASK = "tagging.events.deliver_webhook"
WEBHOOK_ATTEMPTS = 4
WEBHOOK_TIMEOUT_SECONDS = 5.0
_BACKOFF_SECONDS = (0.2, 1.0, 3.0)
# A receiver that is down longer than one task's attempts gets the body again in later rounds,
# each a django-q2 schedule this far after the previous round failed (about 8 hours in all).
LATER_ROUND_DELAYS_SECONDS = (60, 300, 1800, 7200, 21600)


class WebhookFailed(Exception):
    """Every delivery attempt failed; django-q2 records the task as failed with this message."""


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
    from tagging.models import ProductTag

    tags_changed.send(sender=ProductTag, product_ids=product_ids)
    if settings.SHELFSIGHT_WEBHOOK_URL:
        from config.queue import enqueue

        body = webhook_body(event="tags_changed", product_ids=product_ids)
        enqueue(WEBHOOK_TASK, body, task_name=f"webhook-tags-changed-{len(product_ids)}", group="webhooks")


def webhook_body(*, event: str, product_ids: list[int]) -> str:
    return json.dumps(
        {"event": event, "product_ids": product_ids, "sent_at": timezone.now().isoformat()},
        separators=(",", ":"),
        sort_keys=True,
    )


def sign(body: bytes, *, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, *, signature: str, secret: str) -> bool:
    """What a receiver does: constant-time comparison of the header with our own signature."""
    return hmac.compare_digest(sign(body, secret=secret), signature or "")


def deliver_webhook(body: str, delivery_round: int = 1) -> int:
    """POST ``body`` to SHELFSIGHT_WEBHOOK_URL, retrying with backoff; returns the HTTP status.

    When every attempt of this round fails and the receiver did not refuse the body (a 4xx
    other than 408/429), the next round is scheduled (LATER_ROUND_DELAYS_SECONDS). Raises
    WebhookFailed either way, so each failed round shows as a failed task in django-q2.
    """
    url = settings.SHELFSIGHT_WEBHOOK_URL
    if not url:
        return 0
    data = body.encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Shelfsight-Webhook/1", EVENT_HEADER: "tags_changed"}
    if settings.SHELFSIGHT_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = sign(data, secret=settings.SHELFSIGHT_WEBHOOK_SECRET)
    last_error, refused = "", False
    for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 — staff-set URL
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            last_error = f"HTTP {error.code}"
            if 400 <= error.code < 500 and error.code not in (408, 429):
                refused = True  # the receiver refuses this body; sending it again will not help
                break
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            last_error = type(error).__name__
        if attempt < WEBHOOK_ATTEMPTS:
            time.sleep(_BACKOFF_SECONDS[min(attempt - 1, len(_BACKOFF_SECONDS) - 1)])
    message = f"Webhook delivery failed after {attempt} attempts in round {delivery_round}: {last_error}"
    if not refused and delivery_round <= len(LATER_ROUND_DELAYS_SECONDS):
        delay = LATER_ROUND_DELAYS_SECONDS[delivery_round - 1]
        _schedule_round(body, delivery_round=delivery_round + 1, delay_seconds=delay)
        message += f"; round {delivery_round + 1} in {delay} s"
    logger.warning("%s", message)
    raise WebhookFailed(message)


def _schedule_round(body: str, *, delivery_round: int, delay_seconds: int) -> None:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule(
        WEBHOOK_TASK,
        body,
        delivery_round,
        schedule_type=Schedule.ONCE,  # deleted once it ran
        next_run=timezone.now() + timedelta(seconds=delay_seconds),
    )
