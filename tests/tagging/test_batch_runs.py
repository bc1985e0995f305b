"""A task's batch: each of its analyses run once, side by side, and recorded in one transaction.

Transactional tests: the batch's pool threads have database connections of their own, which
see committed rows only. The local analyser answers (no provider key), so no pool thread
writes: the suite's in-memory SQLite fails concurrent writers outright (tests/scale runs the
provider path on PostgreSQL).
"""

import pytest

from catalog.services import add_product_image
from tagging import services, tasks
from tagging.models import ImageAnalysis, ProductTag
from tagging.signals import tags_changed
from tests.factories import ProductFactory, image_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def local_analyser(settings):
    settings.OPENAI_API_KEY = ""


def queued_uploads(count: int) -> list[ImageAnalysis]:
    for index in range(count):
        add_product_image(product=ProductFactory(), upload=image_upload(colour=(40 * index, 90, 160)))
    return list(ImageAnalysis.objects.queued().order_by("pk"))


def test_a_batch_task_runs_each_analysis_once_and_records_them_within_a_query_budget(
    local_analyser, django_assert_max_num_queries
):
    queued = queued_uploads(4)
    announced = []
    tags_changed.connect(lambda sender, product_ids, **kwargs: announced.append(product_ids), dispatch_uid="batch")
    try:
        # Claim (2), then per image: the write of its analysis, its tag rows and events, its
        # flags, and proposals for values the vocabulary lacks (a flushed database has none);
        # the pool threads' own reads are on their connections.
        with django_assert_max_num_queries(4 + 15 * len(queued)):
            ran = tasks.analyze_images_task([analysis.pk for analysis in queued])
    finally:
        tags_changed.disconnect(dispatch_uid="batch")

    assert ran == 4
    for analysis in queued:
        analysis.refresh_from_db()
        assert (analysis.status, analysis.attempts, analysis.analyser) == ("succeeded", 1, "local")
    assert ProductTag.objects.values("product").distinct().count() <= 4
    assert len(announced) <= 1  # the batch's products in one announcement
    assert tasks.analyze_images_task([analysis.pk for analysis in queued]) == 0  # idempotent


def test_a_task_runs_only_the_analyses_it_carries(local_analyser):
    mine, other = queued_uploads(2)

    assert tasks.analyze_images_task([mine.pk]) == 1

    other.refresh_from_db()
    assert other.status == ImageAnalysis.Status.QUEUED


def test_a_failure_recording_one_image_leaves_the_rest_of_the_batch_recorded(local_analyser, monkeypatch):
    first, second, third = queued_uploads(3)
    real_apply = services.apply_machine_tags

    def breaks_on_the_second(*, analysis, image, findings, current):
        if analysis.pk == second.pk:
            raise RuntimeError("disk full")
        return real_apply(analysis=analysis, image=image, findings=findings, current=current)

    monkeypatch.setattr(services, "apply_machine_tags", breaks_on_the_second)

    assert tasks.analyze_images_task([first.pk, second.pk, third.pk]) == 3

    statuses = dict(ImageAnalysis.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "succeeded", second.pk: "failed", third.pk: "succeeded"}
    second.refresh_from_db()
    assert (second.error_class, second.next_attempt_at) == ("RuntimeError", None)  # not a cause retries cure
    assert not ProductTag.objects.filter(image_id=second.image_id).exists()


# A batch reads its earlier analyses and its products' tag rows once and writes its tag events
# in one INSERT; besides: its claim (UPDATE and read), opening its transaction, and the
# neighbour-refresh task it may queue.
BATCH_QUERIES = 7
# Per image only its own writes: its analysis row, its new tags, and the savepoints around them.
IMAGE_QUERIES = 6


def test_recording_a_batch_costs_its_per_image_writes_plus_a_fixed_few_queries(
    local_analyser, django_assert_max_num_queries
):
    def uploads(count: int, *, start: int) -> list[int]:
        # One well-exposed colour and one title, so every image finds the values the first
        # ones proposed and raises no flag; a size of its own, so no two images share bytes
        # (each is analysed, none reused).
        for index in range(start, start + count):
            add_product_image(
                product=ProductFactory(title="Yellow mug"),
                upload=image_upload(size=(320 + index, 240), colour=(230, 200, 80)),
            )
        return list(ImageAnalysis.objects.queued().order_by("pk").values_list("pk", flat=True))

    # The vocabulary proposes this colour's values, then remembers them (the proposals moved its version).
    tasks.analyze_images_task(uploads(1, start=0))
    tasks.analyze_images_task(uploads(1, start=1))

    for size in (2, 6):
        batch = uploads(size, start=10 * size)
        with django_assert_max_num_queries(BATCH_QUERIES + IMAGE_QUERIES * size):
            assert tasks.analyze_images_task(batch) == size
        assert set(ProductTag.objects.filter(analysis_id__in=batch).values_list("analysis_id", flat=True)) == set(batch)
