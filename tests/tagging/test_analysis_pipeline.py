"""The full path through the loopback provider: image saved → task → analysis → tags."""

import json

from catalog.models import Product
from catalog.services import add_product_image
from tagging import services
from tagging.analysis.prompts import PROMPT_VERSION
from tagging.models import ImageAnalysis, ProductTag, Tag
from tests.factories import image_upload
from tests.tagging.conftest import full_answer


def test_saved_image_is_analysed_after_commit_with_tokens_cost_and_tags(
    product, provider_settings, sync_tasks, answering, model_server, django_capture_on_commit_callbacks
):
    answering(full_answer())
    with django_capture_on_commit_callbacks(execute=True):
        image = add_product_image(product=product, upload=image_upload(size=(640, 480)))

    analysis = ImageAnalysis.objects.get(image=image)
    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    assert analysis.model == "gemini-2.5-flash"
    assert analysis.arm == "primary"
    assert analysis.prompt_version == PROMPT_VERSION
    assert analysis.input_tokens > 258 and analysis.output_tokens > 0
    assert analysis.cost_usd > 0
    assert analysis.latency_ms is not None
    statuses = {row.tag.name: (row.status, row.band) for row in ProductTag.objects.filter(product=product)}
    assert statuses["navy"] == (ProductTag.Status.APPLIED, ProductTag.Band.HIGH)
    assert statuses["cotton"] == (ProductTag.Status.APPLIED, ProductTag.Band.MEDIUM)
    assert statuses["casual"] == (ProductTag.Status.NEEDS_REVIEW, ProductTag.Band.LOW)
    assert len(model_server.chat_requests) == 1


def test_cost_is_reported_usage_times_price_to_the_microdollar(product_image, provider_settings, answering):
    answering(full_answer())

    analysis = services.analyze_image(image_id=product_image.pk)

    from decimal import ROUND_HALF_UP, Decimal

    exact = (
        Decimal(analysis.input_tokens) * Decimal("0.30") + Decimal(analysis.output_tokens) * Decimal("2.50")
    ) / 10**6
    assert analysis.cost_usd == exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    assert analysis.cost_usd.as_tuple().exponent == -6


def test_request_sends_the_answer_schema_as_strict_json_schema(
    product_image, provider_settings, answering, model_server
):
    answering(full_answer())

    services.analyze_image(image_id=product_image.pk)

    response_format = model_server.chat_requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"a", "k", "x"}
    assert schema["properties"]["a"]["minItems"] == schema["properties"]["a"]["maxItems"] == 6


def test_request_sends_one_prepared_jpeg_no_larger_than_1024_px(product, provider_settings, answering, model_server):
    import base64
    import io

    from PIL import Image

    image = add_product_image(product=product, upload=image_upload(size=(2400, 1600)))
    answering(full_answer())

    services.analyze_image(image_id=image.pk)

    parts = model_server.chat_requests[0]["messages"][0]["content"]
    urls = [part["image_url"]["url"] for part in parts if part["type"] == "image_url"]
    assert len(urls) == 1
    assert urls[0].startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1]))) as sent:
        assert sent.format == "JPEG"
        assert max(sent.size) <= 1024


def test_running_the_analysis_twice_calls_the_model_once_and_duplicates_nothing(
    product_image, provider_settings, answering, model_server
):
    answering(full_answer())

    first = services.analyze_image(image_id=product_image.pk)
    tags_after_first = list(ProductTag.objects.values_list("pk", "status", "confidence"))
    events_after_first = product_image.product.product_tags.first().events.count()
    second = services.analyze_image(image_id=product_image.pk)

    assert second.pk == first.pk
    assert len(model_server.chat_requests) == 1
    assert list(ProductTag.objects.values_list("pk", "status", "confidence")) == tags_after_first
    assert product_image.product.product_tags.first().events.count() == events_after_first
    assert ImageAnalysis.objects.count() == 1


def test_fenced_json_answer_is_accepted(product_image, provider_settings, answering):
    answering("```json\n" + json.dumps(full_answer()) + "\n```")

    analysis = services.analyze_image(image_id=product_image.pk)

    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    assert ProductTag.objects.filter(product=product_image.product).exists()


def test_answer_that_is_not_json_is_a_billed_failure_of_the_model_and_the_analysis_waits_for_a_retry(
    product_image, provider_settings, answering
):
    from llm.models import LLMCall

    answering("Sorry, I can't see the image clearly.")

    analysis = services.analyze_image(image_id=product_image.pk)

    assert analysis.status == ImageAnalysis.Status.FAILED
    assert analysis.error_class == "ProviderUnavailable"
    assert "unusable answer" in analysis.error
    assert analysis.next_attempt_at is not None  # retried by itself
    refused = LLMCall.objects.filter(outcome="unusable")
    assert refused.exists() and all(call.cost_usd > 0 for call in refused)  # paid for all the same
    assert "not JSON" in refused.first().error_message
    assert not ProductTag.objects.exists()


def test_answer_that_breaks_the_schema_fails_with_the_reason_and_writes_no_tags(
    product_image, provider_settings, answering
):
    from llm.models import LLMCall

    answer = full_answer(k=["only one keyword 90"])
    del answer["a"][2]
    answering(answer)

    analysis = services.analyze_image(image_id=product_image.pk)

    assert analysis.status == ImageAnalysis.Status.FAILED
    assert "unusable answer" in analysis.error
    assert "schema" in LLMCall.objects.filter(outcome="unusable").first().error_message
    assert not ProductTag.objects.exists()


def test_a_value_without_a_confidence_is_dropped_with_a_note_and_the_image_still_tagged(
    product_image, provider_settings, answering
):
    answering(full_answer(co="navy"))

    analysis = services.analyze_image(image_id=product_image.pk)

    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    assert "a/1" in analysis.result["notes"][0]
    names = set(ProductTag.objects.filter(product=product_image.product).values_list("tag__name", flat=True))
    assert "cotton" in names and "navy" not in names


def test_gateway_failure_ends_as_a_failed_analysis_not_an_exception(product_image, provider_settings, model_server):
    from tests.fakes.openai_server import Reply

    model_server.script(*[Reply.server_error(503)] * 6)

    analysis = services.analyze_image(image_id=product_image.pk)

    assert analysis.status == ImageAnalysis.Status.FAILED
    assert analysis.error_class == "ProviderUnavailable"
    assert "gemini-2.5-flash: server_error" in analysis.error
    assert not ProductTag.objects.exists()


def test_unknown_values_become_proposed_tags_waiting_for_review(product_image, provider_settings, answering):
    answering(full_answer(m="hand-loomed ikat silk 95"))

    services.analyze_image(image_id=product_image.pk)

    tag = Tag.objects.get(facet="material", slug="hand-loomed-ikat-silk")
    assert tag.status == Tag.Status.PROPOSED
    assert ProductTag.objects.get(tag=tag).status == ProductTag.Status.NEEDS_REVIEW


def test_synonyms_and_plurals_resolve_to_canonical_tags(product_image, provider_settings, answering):
    answering(full_answer(co="Navy Blue 95", c="Clothing/T-Shirts 95", p="Stripes 92"))

    services.analyze_image(image_id=product_image.pk)

    applied = {(row.tag.facet, row.tag.slug) for row in ProductTag.objects.select_related("tag")}
    assert {("colour", "navy"), ("category", "t-shirts"), ("pattern", "striped")} <= applied
    assert not Tag.objects.filter(status=Tag.Status.PROPOSED).exclude(facet="keyword").exists()


def test_at_most_eight_tags_per_image_attributes_first(product_image, provider_settings, answering):
    keywords = [f"keyword number {n} {99 - n}" for n in range(8)]
    answering(full_answer(k=keywords))

    analysis = services.analyze_image(image_id=product_image.pk)

    rows = ProductTag.objects.filter(analysis=analysis).select_related("tag")
    assert rows.count() == 8
    facets = [row.tag.facet for row in rows]
    assert facets.count("keyword") == 2
    assert {"category", "colour", "material", "style", "pattern", "season"} <= set(facets)
    assert len(analysis.result["tags"]) == 14  # the cut keywords stay visible on the analysis


def test_prohibited_workflow_sends_only_the_prohibited_schema(
    product_image, provider_settings, answering, model_server
):
    answering({"x": []})

    analysis = services.analyze_image(image_id=product_image.pk, workflow="prohibited")

    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    schema = model_server.chat_requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["x"]
    assert not ProductTag.objects.exists()


def test_quality_workflow_costs_nothing_and_calls_no_model(product_image, provider_settings, model_server):
    analysis = services.analyze_image(image_id=product_image.pk, workflow="quality")

    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    assert analysis.quality_score is not None
    assert analysis.cost_usd == 0
    assert model_server.chat_requests == []
    assert Product.objects.get(pk=product_image.product_id).status == Product.Status.ACTIVE


def test_a_large_jpeg_is_sent_decoded_at_the_scale_that_reaches_the_smallest_model_side(
    product, provider_settings, answering, model_server
):
    import base64
    import io

    from PIL import Image

    from tagging.analysis.prepare import MIN_MODEL_IMAGE_SIDE

    image = add_product_image(product=product, upload=image_upload(size=(1600, 1200)))
    answering(full_answer())

    services.analyze_image(image_id=image.pk)

    parts = model_server.chat_requests[0]["messages"][0]["content"]
    url = next(part["image_url"]["url"] for part in parts if part["type"] == "image_url")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
        # libjpeg's 1/4 scale is the smallest that keeps the long side at MIN_MODEL_IMAGE_SIDE or more.
        assert sent.size == (1600 // 4, 1200 // 4)
        assert 1600 // 8 < MIN_MODEL_IMAGE_SIDE <= 1600 // 4
