"""tags_changed after commit, and the signed, retried webhook."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tagging import events, services
from tagging.signals import tags_changed
from tests.tagging.conftest import full_answer


@pytest.fixture
def receiver():
    """A loopback webhook receiver; answers the statuses in ``statuses`` in turn, then 200."""
    received: list[tuple[bytes, dict]] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, dict(self.headers)))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.received, server.statuses = received, statuses
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tags"
    yield server
    server.shutdown()
    server.server_close()


def test_tags_changed_is_sent_after_commit_with_the_product(
    product_image, provider_settings, answering, django_capture_on_commit_callbacks
):
    answering(full_answer())
    seen = []

    def listener(sender, product_ids, **kwargs):
        seen.append(product_ids)

    tags_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.analyze_image(image_id=product_image.pk)
        assert seen == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        tags_changed.disconnect(listener)

    assert seen == [[product_image.product_id]]


def test_webhook_body_is_signed_and_the_signature_verifies(
    product_image, provider_settings, answering, settings, receiver, sync_tasks, django_capture_on_commit_callbacks
):
    settings.SHELFSIGHT_WEBHOOK_URL = receiver.url
    settings.SHELFSIGHT_WEBHOOK_SECRET = "whsec-test"
    answering(full_answer())

    with django_capture_on_commit_callbacks(execute=True):
        services.analyze_image(image_id=product_image.pk)

    body, headers = receiver.received[0]
    assert events.verify(body, signature=headers[events.SIGNATURE_HEADER], secret="whsec-test")
    assert not events.verify(body + b" ", signature=headers[events.SIGNATURE_HEADER], secret="whsec-test")
    assert json.loads(body)["product_ids"] == [product_image.product_id]


def test_webhook_is_retried_after_a_server_error(settings, receiver):
    settings.SHELFSIGHT_WEBHOOK_URL = receiver.url
    settings.SHELFSIGHT_WEBHOOK_SECRET = "whsec-test"
    receiver.statuses.extend([503, 500])

    status = events.deliver_webhook(events.webhook_body(event="tags_changed", product_ids=[7]))

    assert status == 200
    assert len(receiver.received) == 3
    assert len({body for body, _ in receiver.received}) == 1  # the same signed body each time


def test_webhook_gives_up_on_a_client_error_without_retrying(settings, receiver):
    settings.SHELFSIGHT_WEBHOOK_URL = receiver.url
    receiver.statuses.append(410)

    with pytest.raises(events.WebhookFailed):
        events.deliver_webhook(events.webhook_body(event="tags_changed", product_ids=[7]))
    assert len(receiver.received) == 1


@pytest.fixture
def announcements():
    seen: list[list[int]] = []

    def listener(sender, product_ids, **kwargs):
        seen.append(product_ids)

    tags_changed.connect(listener, dispatch_uid="test-announced-together")
    yield seen
    tags_changed.disconnect(dispatch_uid="test-announced-together")


@pytest.mark.django_db
def test_announcements_gathered_together_go_out_once_after_commit(announcements, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with events.announced_together():
            events.announce_tags_changed(product_ids=[3, 1])
            events.announce_tags_changed(product_ids=[2, 3])
        assert announcements == []

    assert announcements == [[1, 2, 3]]


@pytest.mark.django_db
def test_nothing_is_announced_when_the_gathering_block_fails(announcements, django_capture_on_commit_callbacks):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
        events.announced_together(),
    ):
        events.announce_tags_changed(product_ids=[1])
        raise RuntimeError("write failed")

    with django_capture_on_commit_callbacks(execute=True):
        events.announce_tags_changed(product_ids=[5])  # gathering ended: back to one announcement each
    assert announcements == [[5]]


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(events, "_BACKOFF_SECONDS", (0.0,))


@pytest.mark.django_db
def test_a_receiver_down_through_every_attempt_gets_a_later_round(settings, receiver, no_backoff):
    from django.utils import timezone
    from django_q.models import Schedule

    settings.SHELFSIGHT_WEBHOOK_URL = receiver.url
    receiver.statuses.extend([503] * events.WEBHOOK_ATTEMPTS)
    body = events.webhook_body(event="tags_changed", product_ids=[7])

    with pytest.raises(events.WebhookFailed, match="round 2 in 60 s"):
        events.deliver_webhook(body)

    later = Schedule.objects.get(func=events.WEBHOOK_TASK)
    assert later.schedule_type == Schedule.ONCE
    assert later.args == repr((body, 2))
    assert 55 <= (later.next_run - timezone.now()).total_seconds() <= 60
    assert events.deliver_webhook(body, 2) == 200  # the receiver is back when round 2 runs


@pytest.mark.django_db
def test_no_later_round_after_a_refusal_or_after_the_last_round(settings, receiver, no_backoff):
    from django_q.models import Schedule

    settings.SHELFSIGHT_WEBHOOK_URL = receiver.url
    body = events.webhook_body(event="tags_changed", product_ids=[7])
    receiver.statuses.append(410)
    with pytest.raises(events.WebhookFailed):
        events.deliver_webhook(body)

    receiver.statuses.extend([500] * events.WEBHOOK_ATTEMPTS)
    last_round = len(events.LATER_ROUND_DELAYS_SECONDS) + 1
    with pytest.raises(events.WebhookFailed, match=f"in round {last_round}: HTTP 500$"):
        events.deliver_webhook(body, last_round)

    assert not Schedule.objects.filter(func=events.WEBHOOK_TASK).exists()
