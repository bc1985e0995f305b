import io
import json
import os
import signal
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models.signals import post_save
from django.utils import timezone
from django_q.models import OrmQ

from catalog.models import ProductImage
from catalog.services import add_product_image
from llm.models import LLMCall
from tagging.backfill import WaitingBound
from tagging.management.commands.backfill_tags import iterate_ids
from tagging.models import ImageAnalysis
from tagging.queueing import dispatch, enqueue_analyses
from tests.factories import CategoryFactory, ProductFactory, image_upload
from tests.tagging.conftest import full_answer


def make_images(count: int, *, category=None) -> list[ProductImage]:
    images = []
    for index in range(count):
        product = ProductFactory(category=category)
        images.append(add_product_image(product=product, upload=image_upload(colour=(20 + index * 9, 90, 140))))
    return images


def backfill(*args) -> str:
    out = io.StringIO()
    call_command("backfill_tags", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_dry_run_prints_count_and_estimated_cost_without_queueing(provider_settings):
    make_images(3)
    output = backfill("--dry-run")
    assert output.startswith("3 image(s) to analyse")
    cost = output.split("estimated cost $")[1].split(" ")[0]
    assert float(cost) > 0
    assert not ImageAnalysis.objects.exists()
    assert not OrmQ.objects.exists()


@pytest.mark.django_db
def test_progress_is_one_line_redrawn_in_place_on_the_commands_stderr():
    make_images(3)
    err = io.StringIO()
    call_command("backfill_tags", "--max-waiting", "0", stdout=io.StringIO(), stderr=err)
    drawn = err.getvalue()
    assert "queueing" in drawn
    assert "3/3" in drawn
    assert drawn.count("\r") >= 2
    assert drawn.count("\n") == 1  # the bar's last state is left on its line


@pytest.mark.django_db
def test_only_missing_and_only_failed_select_different_images():
    done, failed, _ = make_images(3)
    ImageAnalysis.objects.create(image=done, status=ImageAnalysis.Status.SUCCEEDED)
    ImageAnalysis.objects.create(image=failed, status=ImageAnalysis.Status.FAILED, error="boom")
    assert backfill("--dry-run").startswith("1 image(s)")
    assert backfill("--dry-run", "--only-failed").startswith("1 image(s)")
    assert backfill("--dry-run", "--all").startswith("3 image(s)")


@pytest.mark.django_db
def test_only_failed_reaches_every_image_whose_latest_analysis_failed():
    tagged_then_failed, failed_then_tagged, retrying = make_images(3)
    earlier = timezone.now() - timedelta(days=1)
    for image, statuses in (
        (tagged_then_failed, ["succeeded", "failed"]),
        (failed_then_tagged, ["failed", "succeeded"]),
        (retrying, ["failed"]),
    ):
        for offset, status in enumerate(statuses):
            row = ImageAnalysis.objects.create(image=image, status=status, force=offset > 0)
            ImageAnalysis.objects.filter(pk=row.pk).update(created_at=earlier + timedelta(minutes=offset))
    ImageAnalysis.objects.filter(image=retrying).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    output = backfill("--only-failed")

    assert "queued 2 image(s)" in output
    again = ImageAnalysis.objects.queued()
    assert sorted(again.values_list("image_id", flat=True)) == sorted([tagged_then_failed.pk, retrying.pk])
    assert ImageAnalysis.objects.count() == 5  # the failed analyses themselves were queued again, no new rows


@pytest.mark.django_db
def test_category_and_since_filters():
    shirts = CategoryFactory(name="Shirts", slug="shirts", parent=None)
    make_images(2, category=shirts)
    make_images(1)
    assert backfill("--dry-run", "--category", "shirts").startswith("2 image(s)")
    ProductImage.objects.filter(product__category=None).update(created_at=timezone.now() - timedelta(days=30))
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert backfill("--dry-run", "--since", since).startswith("2 image(s)")


def queued_tasks() -> list[dict]:
    return [row.task for row in OrmQ.objects.order_by("id")]


def carried_analyses(task: dict) -> list[int]:
    """The analyses a queued task runs: the ids it carries."""
    assert task["func"] == "tagging.tasks.analyze_images_task"
    return list(task["args"][0])


def take_oldest_task() -> None:
    """What a worker does to a backfill's task: takes it off the queue and starts its analyses."""
    oldest = OrmQ.objects.order_by("id").first()
    ImageAnalysis.objects.filter(pk__in=carried_analyses(oldest.task)).update(status=ImageAnalysis.Status.RUNNING)
    oldest.delete()


@pytest.mark.django_db
def test_enqueue_mode_queues_each_missing_image_once():
    make_images(3)
    output = backfill()
    assert "queued 3 image(s)" in output
    assert ImageAnalysis.objects.queued().count() == 3
    assert len(queued_tasks()) == 1  # one task carries the batch
    output = backfill()
    assert "queued 0 image(s)" in output
    assert OrmQ.objects.count() == 1


@pytest.mark.django_db
def test_queued_backfill_sends_one_task_per_batch_naming_every_analysis_once(monkeypatch):
    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 2)
    make_images(5)

    backfill()

    tasks = queued_tasks()
    assert [len(carried_analyses(task)) for task in tasks] == [2, 2, 1]
    carried = [pk for task in tasks for pk in carried_analyses(task)]
    assert sorted(carried) == sorted(ImageAnalysis.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_forced_backfill_queues_new_forced_analyses_in_batches(monkeypatch):
    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 4)
    images = make_images(3)
    ImageAnalysis.objects.bulk_create(
        [ImageAnalysis(image=image, status=ImageAnalysis.Status.SUCCEEDED) for image in images]
    )

    backfill("--all")

    (task,) = queued_tasks()
    queued = ImageAnalysis.objects.queued()
    assert sorted(carried_analyses(task)) == sorted(queued.values_list("pk", flat=True))
    assert sorted(queued.values_list("image_id", flat=True)) == sorted(image.pk for image in images)
    assert all(queued.values_list("force", flat=True))


@pytest.mark.django_db
def test_queued_backfill_holds_back_while_its_images_wait_for_workers(monkeypatch):
    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 2)
    make_images(6)
    most_waiting = []

    def a_worker_takes_the_oldest_task(seconds):
        waiting = ImageAnalysis.objects.filter(status=ImageAnalysis.Status.QUEUED, pk__in=dispatched())
        most_waiting.append(waiting.count())
        take_oldest_task()

    def dispatched() -> list[int]:
        return [pk for row in OrmQ.objects.all() for pk in carried_analyses(row.task)]

    monkeypatch.setattr("tagging.backfill.time.sleep", a_worker_takes_the_oldest_task)

    output = backfill("--max-waiting", "2")

    assert "queued 6 image(s)" in output
    assert most_waiting == [2, 2]  # it waited twice, each time with one batch waiting, never more
    assert ImageAnalysis.objects.filter(status=ImageAnalysis.Status.QUEUED).count() == 2


@pytest.mark.django_db
def test_queued_backfill_warns_once_when_no_worker_serves_its_queue(monkeypatch):
    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 2)
    make_images(4)
    monkeypatch.setattr("tagging.backfill.STALLED_AFTER_SECONDS", 0.0)
    looks = []

    def nobody_comes_until_the_third_look(seconds):
        looks.append(seconds)
        if len(looks) == 3:
            take_oldest_task()

    monkeypatch.setattr("tagging.backfill.time.sleep", nobody_comes_until_the_third_look)
    out, err = io.StringIO(), io.StringIO()

    call_command("backfill_tags", "--max-waiting", "2", "--queue", "backfill", "--no-progress", stdout=out, stderr=err)

    assert "queued 4 image(s)" in out.getvalue()
    assert len(looks) == 3
    warnings = [line for line in err.getvalue().splitlines() if "No worker has taken" in line]
    assert len(warnings) == 1
    assert "serving queue 'backfill'" in warnings[0]
    assert "Q_CLUSTER_NAME=backfill python manage.py qcluster" in warnings[0]


def bound_with_two_tasks_waiting(*, sleep, clock, stalls) -> tuple[WaitingBound, list[ImageAnalysis]]:
    """A bound of 4 with two tasks of 2 waiting, and 4 more analyses that fit only once both are taken."""
    make_images(8)
    queued = enqueue_analyses(image_ids=list(ProductImage.objects.values_list("pk", flat=True)))
    bound = WaitingBound(4, sleep=sleep, clock=clock, on_stalled=stalls.append, stalled_after=60)
    for group in (queued[:2], queued[2:4]):
        dispatch(bound.room_for(group))
    return bound, queued[4:]


@pytest.mark.django_db
def test_waiting_bound_does_not_call_a_slow_but_moving_queue_stalled():
    now, stalls = [0.0], []

    def a_worker_every_forty_seconds(seconds):
        now[0] += 10.0
        if now[0] % 40 == 0:
            take_oldest_task()

    bound, rest = bound_with_two_tasks_waiting(sleep=a_worker_every_forty_seconds, clock=lambda: now[0], stalls=stalls)

    assert bound.room_for(rest) == rest
    assert now[0] == 80.0  # waited longer than the bound in all, but never 60 s without a worker
    assert stalls == []


@pytest.mark.django_db
def test_waiting_bound_reports_a_stall_once_a_minute_passes_without_a_worker():
    now, stalls = [0.0], []

    def nobody_for_ninety_seconds(seconds):
        now[0] += 10.0
        if now[0] == 90.0:
            take_oldest_task()
            take_oldest_task()

    bound, rest = bound_with_two_tasks_waiting(sleep=nobody_for_ninety_seconds, clock=lambda: now[0], stalls=stalls)

    assert bound.room_for(rest) == rest
    assert stalls == [60.0]


@pytest.mark.django_db
def test_limit_bounds_the_run():
    make_images(4)
    backfill("--limit", "2")
    assert ImageAnalysis.objects.count() == 2
    assert len(queued_tasks()) == 1


@pytest.mark.django_db
def test_ids_are_read_in_chunks(django_assert_num_queries):
    images = make_images(5)
    with django_assert_num_queries(2):
        ids = list(iterate_ids(ProductImage.objects.all(), chunk_size=2, limit=4))
    assert ids == [image.pk for image in images][:4]


FINISHED = (ImageAnalysis.Status.SUCCEEDED, ImageAnalysis.Status.FAILED)

# In-process runs use one worker thread here: the in-memory SQLite test database locks whole
# tables across connections, which a file database in WAL mode (or PostgreSQL) does not.


@pytest.mark.django_db(transaction=True)
def test_in_process_backfill_analyses_every_image_through_the_provider(provider_settings, model_server):
    model_server.answer = json.dumps(full_answer())
    images = make_images(4)
    output = backfill("--concurrency", "1")
    assert "analysed 4 image(s)" in output
    assert len(model_server.chat_requests) == 4
    for image in images:
        assert image.analyses.filter(status__in=FINISHED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_interrupted_backfill_resumes_without_analysing_any_image_twice(provider_settings, model_server):
    model_server.answer = json.dumps(full_answer())
    images = make_images(6)
    interrupted = []

    def ctrl_c_after_second_call(sender, instance, created, **kwargs):
        if created and not interrupted and LLMCall.objects.count() >= 2:
            interrupted.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    post_save.connect(ctrl_c_after_second_call, sender=LLMCall, dispatch_uid="test-ctrl-c")
    try:
        with pytest.raises(SystemExit):
            backfill("--concurrency", "1")
    finally:
        post_save.disconnect(dispatch_uid="test-ctrl-c", sender=LLMCall)
    finished_first = ImageAnalysis.objects.filter(status__in=FINISHED).count()
    assert 2 <= finished_first < 6

    output = backfill("--concurrency", "1")
    assert f"analysed {6 - finished_first} image(s)" in output
    assert len(model_server.chat_requests) == 6
    for image in images:
        assert image.analyses.filter(status__in=FINISHED).count() == 1


@pytest.mark.django_db
def test_a_forced_all_run_resumes_from_its_fresh_since_moment():
    first, second = make_images(2)
    started = timezone.now() - timedelta(minutes=5)
    old = ImageAnalysis.objects.create(image=first, status=ImageAnalysis.Status.SUCCEEDED)
    ImageAnalysis.objects.filter(pk=old.pk).update(created_at=started - timedelta(days=1))
    ImageAnalysis.objects.create(image=second, status=ImageAnalysis.Status.SUCCEEDED)
    output = backfill("--dry-run", "--all", "--fresh-since", started.isoformat())
    assert output.startswith("1 image(s) to analyse (all")
