"""Transactions, cost estimates and the read side of tagging."""

from decimal import Decimal

import pytest

from catalog.services import add_product_image
from tagging import selectors, services
from tagging.models import ImageAnalysis, ProductTag
from tests.factories import ProductFactory, image_upload
from tests.tagging.conftest import full_answer


@pytest.mark.django_db(transaction=True)
def test_the_model_is_called_outside_any_transaction(provider_settings, answering, monkeypatch):
    from django.db import connection

    from llm import gateway

    image = add_product_image(product=ProductFactory(), upload=image_upload(size=(640, 480)))
    answering(full_answer())
    in_transaction = []
    real_complete = gateway.complete

    def complete_and_note(request):
        in_transaction.append(connection.in_atomic_block)
        return real_complete(request)

    monkeypatch.setattr(gateway, "complete", complete_and_note)

    analysis = services.analyze_image(image_id=image.pk)

    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    assert in_transaction == [False]


def test_estimate_is_typical_usage_at_the_route_price(db, provider_settings):
    estimate = services.estimate_analysis_cost(image_count=1000)

    expected = Decimal(services.TYPICAL_INPUT_TOKENS) * Decimal("0.30") + Decimal(
        services.TYPICAL_OUTPUT_TOKENS
    ) * Decimal("2.50")
    assert estimate == pytest.approx(expected / 1000, rel=Decimal("0.001"))
    assert estimate <= Decimal("0.35")  # the cost goal per 1,000 images (bench/tagging_cost.py)


def test_estimate_is_zero_when_the_local_analyser_would_run(db, settings):
    settings.OPENAI_API_KEY = ""

    assert services.estimate_analysis_cost(image_count=500) == 0


def test_review_queue_lists_only_tags_waiting_for_review(product_image, provider_settings, answering):
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)

    queue = list(selectors.review_queue())

    # Values under the apply confidence (casual, summer) and the keywords within the cap of eight
    # tags, new to the vocabulary; navy, cotton, solid and the category are applied and stay out.
    assert {(row.tag.facet, row.tag.name) for row in queue} == {
        ("style", "casual"),
        ("season", "summer"),
        ("keyword", "crew neck"),
        ("keyword", "short sleeve"),
    }
    assert {row.status for row in queue} == {ProductTag.Status.NEEDS_REVIEW}


def test_applied_tags_are_grouped_by_facet(product_image, provider_settings, answering):
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)

    grouped = selectors.applied_tags_by_facet(product=product_image.product)

    assert [row.tag.name for row in grouped["colour"]] == ["navy"]
    assert "style" not in grouped  # casual waits for review


def test_product_quality_is_none_before_analysis_and_a_score_after(product_image, provider_settings, answering):
    assert selectors.product_quality(product=product_image.product) is None
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)

    assert 0 <= selectors.product_quality(product=product_image.product) <= 10


def test_queueing_twice_records_one_pending_analysis(product_image):
    from tagging.queueing import enqueue_analyses

    first = enqueue_analyses(image_ids=[product_image.pk])
    second = enqueue_analyses(image_ids=[product_image.pk, product_image.pk])

    assert len(first) == 1 and second == []
    assert ImageAnalysis.objects.queued().count() == 1


def test_two_paths_queueing_the_same_image_at_once_get_one_pending_analysis(product_image):
    from django.db import IntegrityError, transaction

    ImageAnalysis.objects.create(image=product_image, status="queued")

    with pytest.raises(IntegrityError), transaction.atomic():
        ImageAnalysis.objects.create(image=product_image, status="running")
    assert ImageAnalysis.objects.pending().count() == 1


def test_a_queued_request_is_taken_up_by_the_task_not_duplicated(product_image, provider_settings, answering):
    from tagging.queueing import enqueue_analyses

    answering(full_answer())
    (queued,) = enqueue_analyses(image_ids=[product_image.pk])

    analysis = services.analyze_image(image_id=product_image.pk)

    assert analysis.pk == queued.pk
    assert ImageAnalysis.objects.count() == 1


def test_an_analysis_running_in_a_live_run_is_not_started_again(
    product_image, provider_settings, answering, model_server
):
    from django.utils import timezone

    answering(full_answer())
    running = ImageAnalysis.objects.create(
        image=product_image, status="running", attempts=1, started_at=timezone.now()
    )

    analysis = services.analyze_image(image_id=product_image.pk)
    ran = services.run_analyses(analysis_ids=[running.pk])

    assert analysis.pk == running.pk and ran == []
    assert analysis.status == ImageAnalysis.Status.RUNNING
    assert ImageAnalysis.objects.count() == 1
    assert model_server.chat_requests == []
