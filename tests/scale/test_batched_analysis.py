"""A task that takes other queued images along: on PostgreSQL, where its threads' connections see
committed rows like separate workers would (the in-memory SQLite test database cannot)."""

import threading

import pytest

from catalog.services import add_product_image
from llm.models import LLMCall
from tagging.models import ImageAnalysis, ProductTag
from tagging.services import queue_analysis
from tagging.signals import tags_changed
from tagging.tasks import analyze_image_task
from tests.factories import ProductFactory, image_upload
from tests.reliability.model_answers import tagging_answer

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def batched(provider_settings, model_server, redis_broker, settings):
    from tagging.batches import release_threads

    settings.SHELFSIGHT_ANALYSIS_BATCH = 4
    settings.SHELFSIGHT_BACKFILL_BATCH = 4
    model_server.answer = tagging_answer
    restore_default_vocabulary()
    yield model_server
    release_threads()  # their connections would keep the test database from being dropped


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

    tags_changed.connect(listener, dispatch_uid="test-batched-announcements")
    yield received
    tags_changed.disconnect(dispatch_uid="test-batched-announcements")


def uploads(count: int):
    return [
        add_product_image(product=ProductFactory(), upload=image_upload(colour=(10 * index, 80, 200 - index)))
        for index in range(count)
    ]


def test_a_task_takes_the_oldest_queued_images_along_and_announces_them_once(batched, announcements):
    images = uploads(6)

    analyze_image_task(images[2].pk)

    done = set(ImageAnalysis.objects.filter(status="succeeded").values_list("image_id", flat=True))
    assert done == {images[index].pk for index in (0, 1, 2, 3)}
    assert set(ImageAnalysis.objects.filter(status="queued").values_list("image_id", flat=True)) == {
        images[4].pk,
        images[5].pk,
    }
    assert len(batched.chat_requests) == 4
    for index in (0, 1, 2, 3):
        assert ProductTag.objects.filter(image=images[index], source="ai").exists()
    companions = sorted(images[index].product_id for index in (0, 1, 3))
    assert sorted(announcements) == sorted([companions, [images[2].product_id]])


def test_the_task_of_an_image_taken_along_makes_no_second_call(batched):
    images = uploads(3)
    analyze_image_task(images[0].pk)
    assert len(batched.chat_requests) == 3

    for image in images:
        analyze_image_task(image.pk)

    assert len(batched.chat_requests) == 3
    for image in images:
        assert list(image.analyses.values_list("status", flat=True)) == ["succeeded"]


def test_forced_and_staff_routed_analyses_keep_their_own_task(batched):
    plain, forced, routed, own = uploads(4)
    for image in (plain, forced, routed):
        image.analyses.all().delete()
    queue_analysis(image_id=plain.pk)
    queue_analysis(image_id=forced.pk, force=True)
    queue_analysis(image_id=routed.pk, route="premium-tagging")

    analyze_image_task(own.pk)

    assert plain.analyses.get().status == "succeeded"
    assert forced.analyses.get().status == "queued"
    assert routed.analyses.get().status == "queued"


def test_a_malformed_answer_fails_only_its_own_image_and_keeps_the_raw_text(batched):
    images = uploads(4)
    served, lock = [], threading.Lock()

    def one_bad_answer(body):
        with lock:  # the server answers on several threads
            served.append(body)
            second = len(served) == 2
        return "{not json" if second else tagging_answer(body)

    batched.answer = one_bad_answer

    analyze_image_task(images[0].pk)

    failed = ImageAnalysis.objects.get(status="failed")
    assert failed.error_class == "MalformedModelOutput"
    assert failed.raw_response == "{not json"
    assert ImageAnalysis.objects.filter(status="succeeded").count() == 3
    assert not ProductTag.objects.filter(image_id=failed.image_id).exists()


def test_images_taken_along_are_never_claimed_twice(batched):
    from tagging.batches import claim_companions

    images = uploads(5)
    first = claim_companions(exclude_image_id=images[0].pk, limit=2)
    second = claim_companions(exclude_image_id=images[0].pk, limit=10)

    assert [analysis.image_id for analysis in first] == [images[1].pk, images[2].pk]
    assert [analysis.image_id for analysis in second] == [images[3].pk, images[4].pk]
    assert all(analysis.status == "running" and analysis.attempts == 1 for analysis in first + second)
    assert [analysis.route for analysis in second] == ["vision-tagging"] * 2


def test_swept_analyses_are_all_done_whichever_of_their_tasks_runs_first(batched, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tagging import tasks
    from tagging.services import sweep_stuck_analyses

    images = uploads(8)  # their tasks were lost with a killed worker
    ImageAnalysis.objects.update(created_at=timezone.now() - timedelta(hours=1))
    dispatched = []
    monkeypatch.setattr(tasks, "dispatch_analysis", lambda **kwargs: dispatched.append(kwargs))
    sweep_stuck_analyses(older_than_seconds=600)
    assert len(dispatched) == 2

    # The later task first: were it to take "the oldest queued", it would take the first task's
    # images, and the first task, finding its own image done, could not reach the last one.
    for call in reversed(dispatched):
        assert call.pop("queue") == ""  # the default queue's workers run them
        analyze_image_task(**call)

    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}
    assert len(batched.chat_requests) == len(images)


def test_images_of_one_product_in_a_batch_update_its_tags_and_leave_staff_decisions_alone(batched, admin_user):
    from tagging.models import ProductTagEvent
    from tagging.services import reject_tags

    batched.answer = tagging_answer({})  # every image finds the same tags
    product = ProductFactory()
    first = add_product_image(product=product, upload=image_upload(colour=(1, 2, 3)))
    analyze_image_task(first.pk)  # alone: nothing else waits
    rejected = ProductTag.objects.filter(product=product).order_by("id").first()
    reject_tags(product_tag_ids=[rejected.pk], reviewer=admin_user)
    tags_before = set(ProductTag.objects.filter(product=product).values_list("tag_id", flat=True))

    second, third = (add_product_image(product=product, upload=image_upload(colour=(c, 5, 6))) for c in (4, 7))
    other = add_product_image(product=ProductFactory(), upload=image_upload(colour=(9, 9, 9)))
    analyze_image_task(other.pk)  # takes second and third along, in one transaction

    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}
    rows = ProductTag.objects.filter(product=product)
    assert set(rows.values_list("tag_id", flat=True)) == tags_before  # updated, not doubled
    rejected.refresh_from_db()
    assert (rejected.status, rejected.reviewed_by_id) == ("rejected", admin_user.pk)
    assert rejected.analysis.image_id == first.pk
    assert second.analyses.get().status == "succeeded"
    third_analysis = third.analyses.get()
    assert set(rows.exclude(pk=rejected.pk).values_list("analysis_id", flat=True)) == {third_analysis.pk}
    updates = ProductTagEvent.objects.filter(product_tag__product=product, action="updated")
    assert updates.count() == 2 * (len(tags_before) - 1)  # second, then third, over every undecided row
    assert not updates.filter(product_tag=rejected).exists()


def test_databases_without_returning_claim_row_by_row_and_never_twice(batched, monkeypatch):
    from django.db import connection

    from tagging.batches import _take

    images = uploads(3)
    pks = list(ImageAnalysis.objects.filter(image__in=images).order_by("id").values_list("pk", flat=True))
    ImageAnalysis.objects.filter(pk=pks[0]).update(status="running")  # another worker has it
    monkeypatch.setattr(connection, "vendor", "mysql")

    assert _take(pks) == pks[1:]
    assert _take(pks) == []
    assert set(ImageAnalysis.objects.filter(pk__in=pks[1:]).values_list("status", "attempts")) == {("running", 1)}


def test_companions_locked_by_another_claimer_are_skipped_not_waited_for(batched):
    import psycopg
    from django.db import connection

    from tagging.batches import claim_companions

    images = uploads(6)
    queued = list(ImageAnalysis.objects.order_by("created_at", "id").values_list("pk", flat=True))
    database = connection.settings_dict
    with psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"] or "postgres",
        dbname=database["NAME"],
        connect_timeout=5,
    ) as other_worker:
        other_worker.execute(
            "SELECT id FROM tagging_imageanalysis WHERE id = ANY(%s) FOR UPDATE", [queued[:2]]
        )  # in the middle of its own claim
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # waiting would fail the test, not hang it
        try:
            taken = claim_companions(exclude_image_id=images[5].pk, limit=3)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")

    assert [analysis.pk for analysis in taken] == queued[2:5]
    assert set(ImageAnalysis.objects.filter(pk__in=queued[:2]).values_list("status", flat=True)) == {"queued"}


def test_a_queued_backfill_analyses_every_image_once_a_batch_per_task(batched, redis_broker, announcements):
    import io

    from django.core.management import call_command
    from django_q.signing import SignedPackage

    images = uploads(10)
    ImageAnalysis.objects.all().delete()  # a catalog that predates tagging
    redis_broker.purge_queue()

    call_command("backfill_tags", "--no-progress", stdout=io.StringIO())

    tasks = []
    while (package := redis_broker.dequeue()) is not None:
        tasks.extend(SignedPackage.loads(payload) for _, payload in package)
    assert len(tasks) == 3  # 10 images, 4 to a task
    for task in tasks:
        analyze_image_task(*task["args"], **task["kwargs"])
    # Each task's own image is written with its batch: one announcement of all its products.
    products = dict(ImageAnalysis.objects.values_list("pk", "image__product_id"))
    expected = [sorted(products[pk] for pk in task["kwargs"]["along"]) for task in tasks]
    assert [len(batch) for batch in expected] == [4, 4, 2]
    assert sorted(announcements) == sorted(expected)
    statuses = list(ImageAnalysis.objects.values_list("image_id", "status"))
    assert sorted(statuses) == sorted((image.pk, "succeeded") for image in images)
    assert len(batched.chat_requests) == 10
    assert {tag.image_id for tag in ProductTag.objects.filter(source="ai")} == {image.pk for image in images}
    # Every call is in the ledger once, the batch's held rows written with their outcomes.
    calls = list(LLMCall.objects.values_list("request_id", "outcome"))
    requested = set(ImageAnalysis.objects.values_list("llm_request_id", flat=True))
    assert sorted((str(request_id), outcome) for request_id, outcome in calls) == sorted(
        (request_id, "success") for request_id in requested
    )


def test_a_backfill_on_its_own_queue_is_not_taken_along_by_upload_tasks(batched, settings):
    import io

    from django.core.management import call_command
    from django_q.brokers import get_broker

    settings.SHELFSIGHT_BACKFILL_QUEUE = "backfill"
    stored = uploads(3)
    ImageAnalysis.objects.all().delete()  # images that predate tagging
    call_command("backfill_tags", "--no-progress", stdout=io.StringIO())
    backfill_queue = get_broker("backfill")
    live = uploads(2)

    analyze_image_task(live[0].pk)

    assert set(ImageAnalysis.objects.filter(status="succeeded").values_list("image_id", flat=True)) == {
        image.pk for image in live
    }
    assert set(ImageAnalysis.objects.filter(status="queued").values_list("image_id", "queue")) == {
        (image.pk, "backfill") for image in stored
    }
    assert backfill_queue.queue_size() == 1
    backfill_queue.purge_queue()


def test_a_backfill_batch_larger_than_an_upload_batch_calls_the_model_side_by_side(batched, settings):
    import io

    from django.core.management import call_command
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    from tagging.batches import release_threads

    release_threads()  # the pool is sized from the settings when first used
    settings.SHELFSIGHT_ANALYSIS_BATCH = 2
    settings.SHELFSIGHT_BACKFILL_BATCH = 6
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

    batched.answer = slow_answer
    uploads(6)
    ImageAnalysis.objects.all().delete()  # images that predate tagging
    broker = get_broker()
    broker.purge_queue()
    call_command("backfill_tags", "--no-progress", stdout=io.StringIO())
    (task,) = [SignedPackage.loads(payload) for _, payload in broker.dequeue()]

    analyze_image_task(*task["args"], **task["kwargs"])

    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}
    assert most[0] == 6
