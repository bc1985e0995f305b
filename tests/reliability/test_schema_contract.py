"""Done when: against a provider that answers random valid instances of the schema it is sent
(all a strict structured-output provider promises), the demo catalog ends tagged by the
provider, one request per image."""

import io
from collections import Counter

import pytest

from catalog.demo import demo_products, draw_product_image
from catalog.services import add_product_image, upsert_product
from llm.models import LLMCall
from tagging.analysis.schema import schema_for
from tagging.models import ImageAnalysis, ProductTag
from tests.fakes.openai_server import SchemaInstances

DEMO_CATALOG = 240  # what seed_demo creates


def image_of(request: dict) -> str:
    parts = request["messages"][0]["content"]
    return next(part["image_url"]["url"] for part in parts if part["type"] == "image_url")


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_catalog_is_tagged_by_a_provider_answering_random_instances_of_the_schema(
    provider_settings, model_server, sync_tasks, django_capture_on_commit_callbacks
):
    model_server.answer = SchemaInstances(seed=3, ready_for=(schema_for("full"),))
    for demo in demo_products(DEMO_CATALOG):
        product, _ = upsert_product(sku=demo.sku, title=demo.title, price=demo.price, status="active")
        with django_capture_on_commit_callbacks(execute=True):
            add_product_image(product=product, upload=io.BytesIO(draw_product_image(demo)))

    analyses = ImageAnalysis.objects.all()
    assert analyses.count() == DEMO_CATALOG
    by_provider = analyses.succeeded().filter(analyser="provider")
    tagged = {row for row in ProductTag.objects.filter(analysis__in=by_provider).values_list("image_id", flat=True)}
    assert len(tagged) >= 0.95 * DEMO_CATALOG, Counter(analyses.values_list("status", "error_class"))
    sent = Counter(image_of(request) for request in model_server.chat_requests)
    assert max(sent.values()) == 1  # one request per image (identical photos are answered once, free)
    assert len(sent) == by_provider.filter(reused_from__isnull=True).count()
    assert not LLMCall.objects.exclude(outcome="success").exists()
