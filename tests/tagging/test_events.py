"""tags_changed after commit, and announcements gathered together (webhooks: test_webhooks.py)."""

import pytest

from tagging import events, services
from tagging.signals import tags_changed
from tests.tagging.conftest import full_answer


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
