"""Writing a batch's outcomes: merged INSERTs for images of different products, and the image
by image path when the merged one fails or a product appears twice."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from catalog.services import add_product_image
from tagging import batches, services
from tagging.analysis.parsing import parse_answer
from tagging.analysis.quality import measure_quality
from tagging.models import ImageAnalysis, ProductTag, ProductTagEvent
from tagging.services import _Outcome
from tests.factories import ProductFactory, image_upload
from tests.tagging.conftest import full_answer

pytestmark = pytest.mark.django_db


def running_analysis(product=None, colour=(30, 40, 120)) -> ImageAnalysis:
    image = add_product_image(product=product or ProductFactory(), upload=image_upload(colour=colour))
    return ImageAnalysis.objects.create(image=image, status="running", model="gemini-2.5-flash")


def outcome(**answer) -> _Outcome:
    findings = parse_answer(json.dumps(full_answer(**answer)), workflow="full")
    return _Outcome(findings=findings, quality=None, fields={"model": "gemini-2.5-flash"})


def inserts_into(queries: CaptureQueriesContext, table: str) -> int:
    return sum(query["sql"].startswith(f'INSERT INTO "{table}"') for query in queries.captured_queries)


def test_images_of_different_products_get_their_tags_and_events_in_one_insert_each():
    analyses = [running_analysis(colour=(10 * index, 40, 120)) for index in range(3)]

    with CaptureQueriesContext(connection) as queries:
        batches.record_together([(analysis, outcome()) for analysis in analyses])

    assert inserts_into(queries, "tagging_producttag") == 1
    assert inserts_into(queries, "tagging_producttagevent") == 1
    for analysis in analyses:
        analysis.refresh_from_db()
        assert analysis.status == ImageAnalysis.Status.SUCCEEDED
        rows = ProductTag.objects.filter(product_id=analysis.image.product_id)
        assert rows.count() == 8  # MAX_TAGS_PER_IMAGE of the answer's 10 findings
        assert set(rows.values_list("analysis_id", flat=True)) == {analysis.pk}
        for row in rows:
            assert list(row.events.values_list("action", "analysis_id")) == [
                ("applied" if row.status == "applied" else "proposed", analysis.pk)
            ]


def test_a_tag_another_worker_wrote_meanwhile_sends_the_batch_image_by_image(
    monkeypatch, product_image, provider_settings, answering
):
    product = product_image.product
    answering(full_answer())
    elsewhere = services.analyze_image(image_id=product_image.pk)  # committed after the batch read
    raced = running_analysis(product=product, colour=(200, 10, 10))
    others = [running_analysis(colour=(10 * index, 90, 20)) for index in range(2)]
    real_read = batches._tags_of_products
    reads = []

    def read_before_the_other_worker_committed(product_ids):
        reads.append(product_ids)
        rows = real_read(product_ids)
        return {pid: [] for pid in rows} if len(reads) == 1 else rows

    monkeypatch.setattr(batches, "_tags_of_products", read_before_the_other_worker_committed)

    batches.record_together([(raced, outcome(co="navy 99")), *((analysis, outcome()) for analysis in others)])

    assert len(reads) == 2  # the merged INSERT failed on the raced tag; read again, then image by image
    for analysis in [raced, *others]:
        analysis.refresh_from_db()
        assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    rows = ProductTag.objects.filter(product=product)
    assert rows.count() == 8  # updated, not doubled
    assert set(rows.values_list("analysis_id", flat=True)) == {raced.pk}
    navy = rows.get(tag__slug="navy")
    assert list(navy.events.order_by("id").values_list("action", "analysis_id")) == [
        ("applied", elsewhere.pk),
        ("updated", raced.pk),
    ]
    for analysis in others:
        product_rows = ProductTag.objects.filter(product_id=analysis.image.product_id)
        assert product_rows.count() == 8
        assert ProductTagEvent.objects.filter(product_tag__in=product_rows).count() == 8


def test_two_images_of_one_product_are_written_one_after_the_other():
    product = ProductFactory()
    first, second = running_analysis(product=product, colour=(1, 2, 3)), running_analysis(product=product)

    with CaptureQueriesContext(connection) as queries:
        batches.record_together([(first, outcome()), (second, outcome(co="navy 99"))])

    assert inserts_into(queries, "tagging_producttag") == 1  # the second image updates the first's rows
    rows = ProductTag.objects.filter(product=product)
    assert rows.count() == 8
    assert set(rows.values_list("analysis_id", flat=True)) == {second.pk}
    assert ProductTagEvent.objects.filter(product_tag__product=product, action="updated").count() == 8


def analysis_updates(queries: CaptureQueriesContext) -> int:
    return sum('UPDATE "tagging_imageanalysis"' in query["sql"] for query in queries.captured_queries)


def test_a_batch_writes_its_analysis_rows_in_one_update_with_every_outcome_field():
    succeeded, failed = running_analysis(colour=(1, 2, 3)), running_analysis(colour=(200, 2, 3))
    earlier = running_analysis(colour=(9, 9, 9))
    answered = outcome()
    answered.fields |= {
        "provider": "loopback",
        "input_tokens": 1200,
        "output_tokens": 85,
        "cost_usd": Decimal("0.000731"),
        "latency_ms": 183.5,
        "raw_response": "{...}",
        "reused_from": earlier,
    }
    answered.quality = measure_quality(Image.new("RGB", (640, 480), (200, 200, 200)), original_size=(640, 480))
    broken = _Outcome(findings=None, quality=None, fields={"model": "gemini-2.5-flash"}, error="cut", error_class="X")

    with CaptureQueriesContext(connection) as queries:
        batches.record_together([(succeeded, answered), (failed, broken)])

    assert analysis_updates(queries) == 1
    succeeded.refresh_from_db()
    assert (succeeded.status, succeeded.provider, succeeded.input_tokens, succeeded.output_tokens) == (
        "succeeded",
        "loopback",
        1200,
        85,
    )
    assert (succeeded.cost_usd, succeeded.latency_ms, succeeded.reused_from_id) == (
        Decimal("0.000731"),
        183.5,
        earlier.pk,
    )
    assert succeeded.result == answered.findings.as_json()
    assert succeeded.quality_report == answered.quality.as_json()
    assert succeeded.finished_at is not None and succeeded.attempts == 0 and succeeded.image_id
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.error_class, failed.result) == ("failed", "cut", "X", None)
