"""A qcluster killed with SIGKILL mid-batch loses nothing and doubles nothing.

The Redis broker has no delivery receipts: tasks the killed cluster had already taken off
Redis (in flight, or prefetched up to queue_limit) are gone with it. What brings them back
is the analysis row recorded at enqueue time plus tagging.services.retry_due_analyses,
which the cluster runs every minute (migration tagging 0007); here the test calls it with the
clock of the moment it would find them (the lease past), because transactional tests flush
the schedule row.
"""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from catalog.services import add_product_image
from tagging.models import ImageAnalysis
from tagging.services import lease_seconds, retry_due_analyses
from tests.factories import ProductFactory, image_upload
from tests.fakes.openai_server import FakeOpenAIServer
from tests.reliability.model_answers import tagging_answer
from tests.scale import short_lease_settings
from tests.scale.conftest import wait_for

pytestmark = [pytest.mark.scale, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

IMAGES = 60


def succeeded_count() -> int:
    return ImageAnalysis.objects.filter(status="succeeded").count()


@pytest.fixture
def slow_model_server():
    with FakeOpenAIServer(latency=0.25, jitter=0.05) as server:
        server.answer = tagging_answer
        yield server


def test_sigkilled_worker_mid_batch_ends_with_every_image_analysed_exactly_once(
    assert_scale_backends, redis_broker, qcluster, slow_model_server
):
    worker_env = {
        "OPENAI_BASE_URL": slow_model_server.base_url,
        "OPENAI_API_KEY": "sk-test-crash",
        "SHELFSIGHT_LLM_TIMEOUT": "5",
        "DJANGO_SETTINGS_MODULE": "tests.scale.short_lease_settings",
    }
    with transaction.atomic():
        images = [
            add_product_image(product=ProductFactory(), upload=image_upload(colour=(index * 4 % 256, 90, 30)))
            for index in range(IMAGES)
        ]
    assert redis_broker.queue_size() == IMAGES

    first = qcluster(**worker_env)
    wait_for(lambda: succeeded_count() >= 8, timeout=60)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done_at_crash = succeeded_count()
    assert done_at_crash < IMAGES, "the batch finished before the kill; make it longer"
    lost = pending().count()
    assert lost > 0

    qcluster(**worker_env)
    # Whatever was still on Redis is worked off; what the dead cluster held is stuck until the sweep.
    wait_for(lambda: redis_broker.queue_size() == 0, timeout=60)
    time.sleep(2)
    # The workers judge the dead cluster's claims by their own clock and 20 s lease: re-queued
    # before that lease has really passed, a row would be refused and stay stuck.
    worker_lease = timedelta(seconds=short_lease_settings.TASK_TIMEOUT)
    wait_for(lambda: not pending().filter(started_at__gt=timezone.now() - worker_lease).exists(), timeout=60)
    retry_due_analyses(now=timezone.now() + timedelta(seconds=lease_seconds() + 1))
    # Counted with ">=" so that an image analysed twice fails below by name, not as a timeout.
    wait_for(lambda: succeeded_count() >= IMAGES and not pending().exists(), timeout=90)

    per_image = ImageAnalysis.objects.filter(status="succeeded").values("image_id").annotate(n=Count("id"))
    assert {row["image_id"] for row in per_image} == {image.pk for image in images}
    assert {row["image_id"]: row["n"] for row in per_image if row["n"] != 1} == {}
    assert not ImageAnalysis.objects.exclude(status="succeeded").exists()


def pending():
    return ImageAnalysis.objects.filter(status__in=["queued", "running"])
