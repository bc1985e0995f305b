"""The upload → queue → worker → analysis path on PostgreSQL and the Redis broker, for real.

Transactional tests, because the signal enqueues on commit and a separate qcluster process
must see the rows.
"""

import importlib.util

import pytest
from django.db import transaction
from django_q.models import Task

from catalog.services import add_product_image
from tests.factories import ProductFactory, image_upload
from tests.scale.conftest import wait_for

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]

needs_pipeline = pytest.mark.skipif(
    importlib.util.find_spec("tagging.services") is None, reason="tagging.services is not there yet"
)


def test_saved_image_is_queued_on_redis_only_after_commit(assert_scale_backends, redis_broker):
    product = ProductFactory()
    with transaction.atomic():
        add_product_image(product=product, upload=image_upload())
        assert redis_broker.queue_size() == 0
    assert redis_broker.queue_size() == 1


def test_uploads_queue_their_tasks_over_one_redis_connection(assert_scale_backends, redis_broker):
    from config.queue import shared_broker

    add_product_image(product=ProductFactory(), upload=image_upload(colour=(1, 1, 1)))
    connections_before = shared_broker().connection.info("stats")["total_connections_received"]

    for index in range(20):
        add_product_image(product=ProductFactory(), upload=image_upload(colour=(index, 2, 3)))

    assert redis_broker.queue_size() == 21
    # Only the info call itself may have connected; django-q2's own default connects once per task.
    received = shared_broker().connection.info("stats")["total_connections_received"]
    assert received - connections_before <= 1


def test_refused_upload_queues_nothing(assert_scale_backends, redis_broker):
    from catalog.exceptions import ImageRejected

    product = ProductFactory()
    with pytest.raises(ImageRejected):
        add_product_image(product=product, upload=image_upload(size=(8, 8)))
    assert redis_broker.queue_size() == 0


def test_qcluster_picks_the_queued_job_from_redis_and_records_it_in_postgresql(
    assert_scale_backends, redis_broker, qcluster
):
    product = ProductFactory()
    image = add_product_image(product=product, upload=image_upload())
    qcluster()
    from tagging.models import ImageAnalysis

    analysis = ImageAnalysis.objects.get(image=image)
    task = wait_for(lambda: Task.objects.filter(func="tagging.tasks.analyze_images_task").first(), timeout=30)
    assert list(task.args) == [[analysis.pk]]
    assert redis_broker.queue_size() == 0


@needs_pipeline
def test_qcluster_analyses_an_upload_with_the_local_analyser(assert_scale_backends, redis_broker, qcluster):
    from tagging.models import ImageAnalysis

    product = ProductFactory()
    image = add_product_image(product=product, upload=image_upload(colour=(20, 40, 200)))
    qcluster(OPENAI_API_KEY="")
    analysis = wait_for(
        lambda: ImageAnalysis.objects.filter(image=image, status__in=["succeeded", "failed"]).first(), timeout=30
    )
    assert (analysis.status, analysis.analyser) == ("succeeded", "local"), analysis.error
    assert product.product_tags.exists()


@needs_pipeline
def test_qcluster_analyses_an_upload_through_the_loopback_model_server(
    assert_scale_backends, redis_broker, qcluster, model_server, tmp_path
):
    from tagging.models import ImageAnalysis

    model_server.answer = _model_answer
    product = ProductFactory()
    image = add_product_image(product=product, upload=image_upload())
    qcluster(
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=model_server.base_url,
    )
    analysis = wait_for(
        lambda: ImageAnalysis.objects.filter(image=image, status__in=["succeeded", "failed"]).first(), timeout=30
    )
    assert analysis.status == "succeeded", analysis.error
    assert analysis.model == "gemini-2.5-flash"
    assert analysis.input_tokens > 0
    assert len(model_server.chat_requests) == 1
    assert product.product_tags.filter(source="ai").exists()
    worker_log = (tmp_path / "qcluster-0.log").read_text()
    assert API_KEY not in worker_log


API_KEY = "sk-test-scale-key-never-logged-5d1e"


def _model_answer(body):
    from tests.reliability.model_answers import tagging_answer

    return tagging_answer(body)
