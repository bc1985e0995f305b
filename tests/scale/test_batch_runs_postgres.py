"""A task's batch on PostgreSQL, where the batch's threads hold connections of their own and
see committed rows like separate workers would (the in-memory SQLite test database cannot)."""

import io
import threading

import pytest
from django.core.management import call_command
from django.db.models import Count
from django_q.signing import SignedPackage

from catalog.services import add_product_image
from llm.models import LLMCall
from tagging import services, tasks
from tagging.models import ImageAnalysis, ProductTag, ProductTagEvent
from tagging.signals import tags_changed
from tests.factories import ProductFactory, image_upload
from tests.reliability.model_answers import tagging_answer

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(provider_settings, model_server, redis_broker, monkeypatch):
    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 4)
    model_server.answer = tagging_answer
    restore_default_vocabulary()
    redis_broker.purge_queue()
    yield model_server
    services.release_analysis_threads()  # their connections would keep the test database from being dropped


def restore_default_vocabulary() -> None:
    """Load the vocabulary the migrations seed: a transactional test before this one flushed it,
    and without it every tag is a proposal waiting for review, which announces nothing."""
    import importlib

    from django.apps import apps

    from tagging.models import Tag

    if not Tag.objects.filter(status=Tag.Status.CANONICAL).exists():
        importlib.import_module("tagging.migrations.0003_default_vocabulary").load(apps, None)


@pytest.fixture
def announcements():
    received: list[list[int]] = []

    def listener(sender, product_ids, **kwargs):
        received.append(sorted(product_ids))

    tags_changed.connect(listener, dispatch_uid="test-batch-announcements")
    yield received
    tags_changed.disconnect(dispatch_uid="test-batch-announcements")


def images_before_tagging(count: int, *, broker, product=None):
    images = [
        add_product_image(product=product or ProductFactory(), upload=image_upload(colour=(10 * index, 80, 200)))
        for index in range(count)
    ]
    ImageAnalysis.objects.all().delete()  # a catalog that predates tagging: no upload tasks either
    broker.purge_queue()
    return images


def queued_tasks(broker) -> list[dict]:
    """The analysis tasks on the queue (tag changes queue neighbour refreshes too)."""
    found = []
    while (package := broker.dequeue()) is not None:
        found.extend(SignedPackage.loads(payload) for _, payload in package)
    return [task for task in found if task["func"] == "tagging.tasks.analyze_images_task"]


def test_a_backfill_analyses_every_image_once_a_batch_per_task_in_a_query_budget(
    assert_scale_backends, provider, redis_broker, announcements, django_assert_max_num_queries
):
    images = images_before_tagging(10, broker=redis_broker)
    call_command("backfill_tags", "--no-progress", stdout=io.StringIO())
    queued = queued_tasks(redis_broker)
    assert [len(task["args"][0]) for task in queued] == [4, 4, 2]

    for task in queued:
        with django_assert_max_num_queries(4 + 25 * len(task["args"][0])):  # this thread's: claim, vocabulary, record
            assert tasks.analyze_images_task(*task["args"]) == len(task["args"][0])

    products = dict(ImageAnalysis.objects.values_list("pk", "image__product_id"))
    assert sorted(announcements) == sorted(sorted(products[pk] for pk in task["args"][0]) for task in queued)
    assert sorted(ImageAnalysis.objects.values_list("image_id", "status")) == sorted(
        (image.pk, "succeeded") for image in images
    )
    assert len(provider.chat_requests) == 10
    assert {tag.image_id for tag in ProductTag.objects.filter(source="ai")} == {image.pk for image in images}
    assert sorted(str(pk) for pk in LLMCall.objects.values_list("request_id", flat=True)) == sorted(
        ImageAnalysis.objects.values_list("llm_request_id", flat=True)
    )


def test_a_batch_calls_the_model_side_by_side(assert_scale_backends, provider, redis_broker):
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow_answer(body):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            threading.Event().wait(0.3)
            return tagging_answer(body)
        finally:
            with lock:
                in_flight[0] -= 1

    provider.answer = slow_answer
    images_before_tagging(4, broker=redis_broker)
    call_command("backfill_tags", "--no-progress", stdout=io.StringIO())
    (task,) = queued_tasks(redis_broker)

    tasks.analyze_images_task(*task["args"])

    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}
    assert most[0] == 4


def test_two_runs_racing_for_one_batch_analyse_each_image_once(assert_scale_backends, provider, redis_broker):
    images_before_tagging(8, broker=redis_broker)
    call_command("backfill_tags", "--no-progress", stdout=io.StringIO())
    ids = [pk for task in queued_tasks(redis_broker) for pk in task["args"][0]]
    ran: list[int] = []
    start = threading.Barrier(2)

    def worker():
        from django.db import connection

        start.wait()
        try:
            ran.append(len(services.run_analyses(analysis_ids=ids)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(ran) == 8
    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}
    assert len(provider.chat_requests) == 8


def test_images_of_one_product_in_a_batch_leave_staff_decisions_alone(
    assert_scale_backends, provider, redis_broker, admin_user
):
    product = ProductFactory()
    first, second = images_before_tagging(2, broker=redis_broker, product=product)
    services.analyze_image(image_id=first.pk)
    decided = ProductTag.objects.filter(product=product, status="applied").first()
    services.reject_tags(product_tag_ids=[decided.pk], reviewer=admin_user)

    services.enqueue_retag(image_ids=[first.pk, second.pk])
    (task,) = queued_tasks(redis_broker)
    tasks.analyze_images_task(*task["args"])

    decided.refresh_from_db()
    assert (decided.status, decided.reviewed_by_id) == ("rejected", admin_user.pk)
    assert not decided.events.filter(action=ProductTagEvent.Action.UPDATED).exists()
    doubled = ProductTag.objects.values("product", "tag").annotate(n=Count("id")).filter(n__gt=1)
    assert not doubled.exists()
