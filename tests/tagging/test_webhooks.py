"""Webhook deliveries: signed with id and timestamp, one bounded attempt per task, recorded, replayable."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_q.models import Schedule

from tagging import events, services, webhooks
from tagging.models import WebhookAttempt, WebhookDelivery
from tests.tagging.conftest import full_answer

pytestmark = pytest.mark.django_db
SECRET = "whsec-test"


@pytest.fixture
def receiver(settings):
    """A loopback receiver; answers the statuses in ``statuses`` in turn (then 200), every method."""
    received: list[tuple[str, bytes, dict]] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            received.append((self.command, self.rfile.read(length), dict(self.headers)))
            status = statuses.pop(0) if statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/hooks/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET = do_PUT = do_HEAD = answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.received, server.statuses = received, statuses
    settings.SHELFSIGHT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hooks/tags"
    settings.SHELFSIGHT_WEBHOOK_SECRET = SECRET
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def delivery(settings):
    return webhooks.enqueue_delivery(event="tags_changed", body=webhooks.tags_changed_body(product_ids=[7]))


def announce(product_ids, capture):
    with capture(execute=True):
        events.announce_tags_changed(product_ids=product_ids)


def test_the_body_is_signed_with_its_delivery_id_and_timestamp(
    product_image, provider_settings, answering, receiver, sync_tasks, django_capture_on_commit_callbacks
):
    answering(full_answer())
    with django_capture_on_commit_callbacks(execute=True):
        services.analyze_image(image_id=product_image.pk)

    _, body, headers = receiver.received[0]
    signed = {
        "signature": headers[webhooks.SIGNATURE_HEADER],
        "delivery_id": headers[webhooks.DELIVERY_HEADER],
        "timestamp": headers[webhooks.TIMESTAMP_HEADER],
        "secret": SECRET,
    }
    assert json.loads(body)["product_ids"] == [product_image.product_id]
    assert str(WebhookDelivery.objects.get().delivery_id) == signed["delivery_id"]
    assert webhooks.verify(body, **signed)
    assert not webhooks.verify(body + b" ", **signed)
    assert not webhooks.verify(body, **{**signed, "delivery_id": str(uuid.uuid4())})
    assert not webhooks.verify(body, **{**signed, "timestamp": int(signed["timestamp"]) - 1})


def test_a_replayed_request_is_refused_once_its_timestamp_is_old(receiver, delivery):
    webhooks.attempt_delivery(delivery_id=delivery.pk)
    _, body, headers = receiver.received[0]
    signed = {
        "signature": headers[webhooks.SIGNATURE_HEADER],
        "delivery_id": headers[webhooks.DELIVERY_HEADER],
        "timestamp": headers[webhooks.TIMESTAMP_HEADER],
        "secret": SECRET,
    }
    sent_at = int(signed["timestamp"])
    assert webhooks.verify(body, **signed, now=sent_at + webhooks.TIMESTAMP_TOLERANCE_SECONDS)
    assert not webhooks.verify(body, **signed, now=sent_at + webhooks.TIMESTAMP_TOLERANCE_SECONDS + 1)


def test_a_redirect_is_a_failure_and_is_never_followed(receiver, sync_tasks, django_capture_on_commit_callbacks):
    receiver.statuses.append(301)

    announce([7], django_capture_on_commit_callbacks)

    assert [method for method, _, _ in receiver.received] == ["POST"]  # no GET to the Location
    attempt = WebhookAttempt.objects.get()
    assert (attempt.outcome, attempt.response_code) == (WebhookAttempt.Outcome.FAILED, 301)
    assert "redirect (to /hooks/elsewhere) not followed" in attempt.error
    assert attempt.delivery.status == WebhookDelivery.Status.PENDING  # the retry schedule decides later


class SlowReceiver:
    """Accepts the POST, then never answers ("silent"), or sends a 200 status line at once and its
    headers a byte every 50 ms ("trickling")."""

    def __init__(self, mode: str):
        self.mode, self.stop = mode, threading.Event()

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                if outer.mode == "trickling":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                for byte in b"X-Padding: " + b"." * 400 + b"\r\n\r\n":
                    if outer.stop.wait(0.05):
                        return
                    if outer.mode == "trickling":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode", ["silent", "trickling"])
def test_a_hung_receiver_holds_the_worker_no_longer_than_the_deadline(
    mode, settings, monkeypatch, sync_tasks, django_capture_on_commit_callbacks
):
    slow = SlowReceiver(mode)
    settings.SHELFSIGHT_WEBHOOK_URL = slow.url
    monkeypatch.setattr(webhooks, "ATTEMPT_DEADLINE_SECONDS", 0.5, raising=False)
    try:
        started = time.monotonic()
        announce([7], django_capture_on_commit_callbacks)  # the task runs inline (sync)
        elapsed = time.monotonic() - started
    finally:
        slow.close()

    assert elapsed < 2.0
    attempt = WebhookAttempt.objects.get()
    assert attempt.outcome == WebhookAttempt.Outcome.FAILED and attempt.response_code is None
    assert attempt.error == "no answer within the 0.5 s deadline"
    assert 400 <= attempt.duration_ms < 2000


def test_a_failed_attempt_schedules_the_next_and_the_same_delivery_goes_out_again(receiver, delivery):
    receiver.statuses.append(503)

    assert webhooks.deliver_task(delivery.pk) == "failed 503"

    delivery.refresh_from_db()
    later = Schedule.objects.get(func=webhooks.DELIVERY_TASK)
    assert later.schedule_type == Schedule.ONCE and later.args == repr((delivery.pk,))
    assert 55 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 60
    assert later.next_run == delivery.next_attempt_at

    assert webhooks.deliver_task(delivery.pk) == "delivered 200"  # what the schedule runs
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert list(delivery.attempts.order_by("id").values_list("outcome", "response_code")) == [
        ("failed", 503),
        ("delivered", 200),
    ]
    bodies = {body for _, body, _ in receiver.received}
    ids = {headers[webhooks.DELIVERY_HEADER] for _, _, headers in receiver.received}
    assert len(bodies) == 1 and ids == {str(delivery.delivery_id)}


def test_a_client_error_refuses_the_delivery_without_a_retry(receiver, delivery):
    receiver.statuses.append(410)

    assert webhooks.deliver_task(delivery.pk).startswith("refused")

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.REFUSED
    assert not Schedule.objects.filter(func=webhooks.DELIVERY_TASK).exists()
    assert webhooks.attempt_delivery(delivery_id=delivery.pk) is None  # a stale task sends nothing
    assert len(receiver.received) == 1


def test_the_delivery_is_given_up_after_the_last_retry(receiver, delivery):
    receiver.statuses.extend([500] * (len(webhooks.RETRY_DELAYS_SECONDS) + 1))

    for _ in range(len(webhooks.RETRY_DELAYS_SECONDS) + 1):
        assert webhooks.deliver_task(delivery.pk) == "failed 500"

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.next_attempt_at is None
    assert Schedule.objects.filter(func=webhooks.DELIVERY_TASK).count() == len(webhooks.RETRY_DELAYS_SECONDS)
    assert webhooks.deliver_task(delivery.pk) == "not pending"
    assert len(receiver.received) == len(webhooks.RETRY_DELAYS_SECONDS) + 1


def test_a_delivered_delivery_is_not_sent_again_by_a_second_run_of_its_task(receiver, delivery):
    assert webhooks.deliver_task(delivery.pk) == "delivered 200"
    assert webhooks.deliver_task(delivery.pk) == "not pending"
    assert len(receiver.received) == 1


def test_staff_see_the_attempts_and_replay_a_refused_delivery(
    receiver, delivery, admin_client, sync_tasks, django_capture_on_commit_callbacks
):
    receiver.statuses.append(410)
    assert webhooks.deliver_task(delivery.pk).startswith("refused")

    page = admin_client.get(f"/admin/tagging/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert b"HTTP 410" in page.content and str(delivery.delivery_id).encode() in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/tagging/webhookdelivery/", {"action": "replay", "_selected_action": [delivery.pk]}
        )
    assert response.status_code == 302

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [code for code in delivery.attempts.order_by("id").values_list("response_code", flat=True)] == [410, 200]
    assert {headers[webhooks.DELIVERY_HEADER] for _, _, headers in receiver.received} == {str(delivery.delivery_id)}


def test_a_task_queued_by_the_previous_version_becomes_a_recorded_delivery(
    receiver, sync_tasks, django_capture_on_commit_callbacks
):
    body = webhooks.tags_changed_body(product_ids=[3])
    with django_capture_on_commit_callbacks(execute=True):
        events.deliver_webhook(body, 2)

    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED
    assert receiver.received[0][1] == body.encode()
