"""Work a killed worker leaves behind is finished: by the task django-q2 re-delivers, or by the
retry schedule when the broker lost the task (Redis has no delivery receipts)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from catalog.services import add_product_image
from tagging import services
from tagging.models import ImageAnalysis
from tests.factories import ProductFactory, image_upload
from tests.tagging.conftest import full_answer

# What async_task takes for itself; the rest goes to the task function.
QUEUE_OPTIONS = {"task_name", "group", "cluster", "broker", "hook", "save", "sync", "timeout", "q_options"}


@pytest.fixture
def queued_tasks(monkeypatch):
    """The tasks the project queues, kept here instead of going to the broker."""
    queued = []
    monkeypatch.setattr("config.queue.async_task", lambda func, *args, **kwargs: queued.append((func, args, kwargs)))
    return queued


def deliver(task) -> None:
    """What a worker does with a task (django-q2 runs the function with its arguments)."""
    func, args, kwargs = task
    import_string(func)(*args, **{name: value for name, value in kwargs.items() if name not in QUEUE_OPTIONS})


def killed_mid_run(analysis: ImageAnalysis) -> None:
    """The worker that took the task died with the analysis running; django-q2 re-delivers a task
    once its ``retry`` (the task timeout + 60 s) has passed, and kills tasks past the timeout."""
    ImageAnalysis.objects.filter(pk=analysis.pk).update(
        status="running", attempts=1, started_at=timezone.now() - timedelta(seconds=services.lease_seconds() + 60)
    )


@pytest.mark.django_db
def test_a_redelivered_task_finishes_the_analysis_its_killed_run_left_running(
    provider_settings, answering, model_server, queued_tasks, django_capture_on_commit_callbacks
):
    answering(full_answer())
    with django_capture_on_commit_callbacks(execute=True):
        image = add_product_image(product=ProductFactory(), upload=image_upload(size=(640, 480)))
    (task,) = queued_tasks
    killed_mid_run(ImageAnalysis.objects.get(image=image))

    deliver(task)  # the re-delivery

    analysis = ImageAnalysis.objects.get(image=image)
    assert (analysis.status, analysis.attempts) == ("succeeded", 2)
    assert analysis.product_tags.exists()
    assert len(model_server.chat_requests) == 1


@pytest.mark.django_db
def test_a_task_delivered_twice_while_its_run_is_alive_analyses_once(
    provider_settings, answering, model_server, queued_tasks, django_capture_on_commit_callbacks
):
    answering(full_answer())
    with django_capture_on_commit_callbacks(execute=True):
        image = add_product_image(product=ProductFactory(), upload=image_upload(size=(640, 480)))
    (task,) = queued_tasks

    deliver(task)
    deliver(task)

    assert ImageAnalysis.objects.get(image=image).status == "succeeded"
    assert len(model_server.chat_requests) == 1


@pytest.mark.django_db
def test_work_of_a_lost_task_recovers_within_a_few_minutes_by_default(
    provider_settings, answering, model_server, queued_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    # A task each, run on the test's thread: the in-memory test database has no room for a batch's threads.
    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 1)
    answering(full_answer())
    with django_capture_on_commit_callbacks(execute=True):
        running = add_product_image(product=ProductFactory(), upload=image_upload(colour=(200, 20, 20)))
        waiting = add_product_image(product=ProductFactory(), upload=image_upload(colour=(20, 200, 20)))
    killed_mid_run(ImageAnalysis.objects.get(image=running))
    queued_tasks.clear()  # the broker lost both tasks with the worker

    assert services.lease_seconds() <= 300
    requeued = services.retry_due_analyses(now=timezone.now() + timedelta(seconds=services.lease_seconds() + 1))
    for task in queued_tasks:
        deliver(task)

    assert requeued == 2
    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}
    assert ImageAnalysis.objects.count() == 2 and len(model_server.chat_requests) == 2
    assert waiting.analyses.get().attempts == 1


@pytest.mark.django_db
def test_the_migrations_schedule_the_retries_every_minute_once():
    import importlib

    from django.apps import apps
    from django_q.models import Schedule

    migration = importlib.import_module("tagging.migrations.0007_retry_schedule")
    migration.create(apps, None)  # again: still one

    (schedule,) = Schedule.objects.filter(func="tagging.tasks.retry_due_analyses_task")
    assert (schedule.name, schedule.schedule_type, schedule.minutes) == ("tagging: retry due analyses", "I", 1)
    assert not Schedule.objects.filter(name="tagging: sweep stuck analyses").exists()
