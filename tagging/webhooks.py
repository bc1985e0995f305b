"""Webhook deliveries: every event is a WebhookDelivery, every POST of it a WebhookAttempt.

A task makes one attempt and returns: the whole attempt (connect, send, the receiver's answer)
has a deadline of ATTEMPT_DEADLINE_SECONDS, so a receiver that hangs or trickles its answer holds
a worker that long at most, and retries wait in django-q2 schedules, not in a sleeping worker.
Only a 2xx answer delivers; a redirect is a failure and is never followed; a 4xx other than
408/429 is the receiver refusing the body, which ends the delivery. Staff see every attempt in
the admin and can replay a delivery.

Signing (docs/webhooks.md): HMAC-SHA256 under SHELFSIGHT_WEBHOOK_SECRET over
``<delivery id>.<unix timestamp>.<raw body>``, with the id and the timestamp in their own headers,
so a receiver can refuse a replayed request (an old timestamp, or an id it has already seen).
"""

import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule

from config.queue import enqueue
from tagging.models import WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Shelfsight-Signature"
DELIVERY_HEADER = "X-Shelfsight-Delivery"
TIMESTAMP_HEADER = "X-Shelfsight-Timestamp"
EVENT_HEADER = "X-Shelfsight-Event"
DELIVERY_TASK = "tagging.webhooks.deliver_task"
ATTEMPT_DEADLINE_SECONDS = 5.0
# How far a receiver should let a signed timestamp be from its own clock (verify()).
TIMESTAMP_TOLERANCE_SECONDS = 300
# After a failed attempt the next one comes this much later (about 8 hours in all), then it is given up.
RETRY_DELAYS_SECONDS = (60, 300, 1800, 7200, 21600)


class WebhookUnreachable(Exception):
    """No HTTP answer: refused connection, DNS failure, TLS error, or the deadline passed."""


def tags_changed_body(*, product_ids: list[int]) -> str:
    return json.dumps(
        {"event": "tags_changed", "product_ids": product_ids, "sent_at": timezone.now().isoformat()},
        separators=(",", ":"),
        sort_keys=True,
    )


def enqueue_delivery(*, event: str, body: str) -> WebhookDelivery:
    """Record a delivery and queue its first attempt once the current transaction commits."""
    delivery = WebhookDelivery.objects.create(event=event, body=body)
    transaction.on_commit(lambda: _queue_attempt(delivery))
    return delivery


def replay_deliveries(*, delivery_ids: Iterable[int]) -> int:
    """Send deliveries again (same id and body, a fresh timestamp), with a fresh retry schedule."""
    with transaction.atomic():
        deliveries = list(WebhookDelivery.objects.filter(pk__in=list(delivery_ids)))
        for delivery in deliveries:
            delivery.status, delivery.queued_at, delivery.next_attempt_at = (
                WebhookDelivery.Status.PENDING,
                timezone.now(),
                None,
            )
            delivery.save(update_fields=["status", "queued_at", "next_attempt_at"])
            transaction.on_commit(lambda delivery=delivery: _queue_attempt(delivery))
    return len(deliveries)


def attempt_delivery(*, delivery_id: int) -> WebhookAttempt | None:
    """POST a pending delivery once and record the attempt; None when it is no longer pending.

    A failed attempt schedules the next one (RETRY_DELAYS_SECONDS) or, past the last, marks the
    delivery failed; a refusal ends it at once.
    """
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return None  # delivered, refused or given up: a re-delivered task or stale schedule sends nothing
    attempted_at, started = timezone.now(), time.monotonic()
    code, error = None, ""
    try:
        code, location = post(
            settings.SHELFSIGHT_WEBHOOK_URL,
            body=delivery.body.encode(),
            headers=signed_headers(delivery=delivery, secret=settings.SHELFSIGHT_WEBHOOK_SECRET),
            deadline_seconds=ATTEMPT_DEADLINE_SECONDS,
        )
    except WebhookUnreachable as unreachable:
        error = str(unreachable)
    outcome = WebhookAttempt.Outcome.FAILED
    if code is not None:
        if 200 <= code < 300:
            outcome = WebhookAttempt.Outcome.DELIVERED
        elif 300 <= code < 400:
            error = f"HTTP {code} redirect (to {location or 'nowhere'}) not followed"
        elif 400 <= code < 500 and code not in (408, 429):
            outcome, error = WebhookAttempt.Outcome.REFUSED, f"HTTP {code}"
        else:
            error = f"HTTP {code}"
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            duration_ms=round((time.monotonic() - started) * 1000),
            outcome=outcome,
            response_code=code,
            error=error[:300],
        )
        _record_outcome(delivery, attempt)
    return attempt


def deliver_task(delivery_id: int) -> str:
    """django-q2 entry point: one attempt of a delivery; returns its outcome for the task list.

    A failed attempt is not raised: it is recorded on the delivery (and logged), its retry is
    scheduled, and a task run inline (Q_CLUSTER "sync") must not fail the code that queued it.
    """
    attempt = attempt_delivery(delivery_id=delivery_id)
    if attempt is None:
        return "not pending"
    return f"{attempt.outcome} {attempt.response_code or attempt.error}"


def _record_outcome(delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
    delivery.next_attempt_at = None
    if attempt.outcome == WebhookAttempt.Outcome.DELIVERED:
        delivery.status = WebhookDelivery.Status.DELIVERED
    elif attempt.outcome == WebhookAttempt.Outcome.REFUSED:
        delivery.status = WebhookDelivery.Status.REFUSED
    else:
        made = delivery.attempts.filter(attempted_at__gte=delivery.queued_at).count()
        if made > len(RETRY_DELAYS_SECONDS):
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=RETRY_DELAYS_SECONDS[made - 1])
            schedule(DELIVERY_TASK, delivery.pk, schedule_type=Schedule.ONCE, next_run=delivery.next_attempt_at)
    delivery.save(update_fields=["status", "next_attempt_at"])
    if delivery.status != WebhookDelivery.Status.DELIVERED:
        logger.warning("Webhook delivery %s attempt %s: %s", delivery.delivery_id, attempt.outcome, attempt.error)


def _queue_attempt(delivery: WebhookDelivery) -> None:
    enqueue(DELIVERY_TASK, delivery.pk, task_name=f"webhook-{delivery.delivery_id}", group="webhooks")


# --- Signing -------------------------------------------------------------------------------------


def signed_content(*, delivery_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{delivery_id}.{timestamp}.".encode() + body


def sign(*, delivery_id: str, timestamp: int, body: bytes, secret: str) -> str:
    content = signed_content(delivery_id=delivery_id, timestamp=timestamp, body=body)
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    *,
    signature: str,
    delivery_id: str,
    timestamp: str | int,
    secret: str,
    now: float | None = None,
    tolerance_seconds: int = TIMESTAMP_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the timestamp is recent and the signature matches (constant time).

    A receiver should also remember the delivery ids it accepted for the tolerance window and
    answer 2xx without acting again on one it has seen: retries and replays reuse the id.
    """
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_seconds:
        return False
    expected = sign(delivery_id=str(delivery_id), timestamp=stamp, body=body, secret=secret)
    return hmac.compare_digest(expected, signature or "")


def signed_headers(*, delivery: WebhookDelivery, secret: str) -> dict[str, str]:
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Shelfsight-Webhook/2",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(
            delivery_id=str(delivery.delivery_id), timestamp=timestamp, body=delivery.body.encode(), secret=secret
        )
    return headers


# --- One POST with a deadline on the whole of it ----------------------------------------------------


class _Deadline:
    """Shuts the connection's socket down when the time is up.

    A socket timeout bounds each read, not the answer: a receiver sending a byte a second never
    trips it. Shutting the socket down wakes whatever read or TLS handshake is waiting on it.
    """

    def __init__(self, connection: http.client.HTTPConnection, seconds: float):
        self.passed = False
        self._connection = connection
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        self.passed = True
        if self._connection.sock is not None:
            with contextlib.suppress(OSError):
                self._connection.sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()


def post(url: str, *, body: bytes, headers: dict[str, str], deadline_seconds: float) -> tuple[int, str]:
    """POST once, never following a redirect; returns the status code and any Location header.

    The deadline covers connecting, sending and reading the status line and headers; resolving
    the host name is left to the system resolver's own timeout.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUnreachable("SHELFSIGHT_WEBHOOK_URL is not an http(s) URL")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=deadline_seconds)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = _Deadline(connection, deadline_seconds)
    try:
        with deadline:
            connection.connect()
            if deadline.passed:  # it passed while connecting, before there was a socket to cut
                raise TimeoutError
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            if deadline.passed:  # http.client takes headers cut short by the shutdown as complete
                raise TimeoutError
            return response.status, response.getheader("Location", "")
    except (OSError, http.client.HTTPException) as error:
        if deadline.passed or isinstance(error, TimeoutError):
            raise WebhookUnreachable(f"no answer within the {deadline_seconds:g} s deadline") from error
        raise WebhookUnreachable(f"{type(error).__name__}: {error}"[:300]) from error
    finally:
        connection.close()
