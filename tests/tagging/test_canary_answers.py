"""Done when: a canary whose answers are unusable is rolled back, and the images it touched
are tagged by the primary all the same."""

import json
from decimal import Decimal

import pytest

from catalog.services import add_product_image
from llm import routing
from llm.models import CanaryEvent, LLMCall, ModelDeployment, Provider, Route, RouteStep
from tagging import services
from tagging.models import ImageAnalysis
from tests.factories import ProductFactory, image_upload
from tests.tagging.conftest import full_answer

pytestmark = pytest.mark.django_db

PRIMARY, CANARY = "gemini-2.5-flash", "claude-sonnet-4.5"


@pytest.fixture
def route_with_a_canary(provider_settings, model_server):
    provider = Provider.objects.create(name="loopback", api_key_env="OPENAI_API_KEY")
    primary, canary = (
        ModelDeployment.objects.create(
            name=name, provider=provider, input_price_per_mtok=Decimal("0.30"), output_price_per_mtok=Decimal("2.50")
        )
        for name in (PRIMARY, CANARY)
    )
    route = Route.objects.create(
        name="vision-tagging", canary=canary, canary_percent=50, canary_min_calls=5, breaker_failures=50
    )
    RouteStep.objects.create(route=route, deployment=primary, position=1)
    good = json.dumps(full_answer())
    model_server.answer = lambda body: good if body["model"] == PRIMARY else "I'm sorry, I can't help with that."
    return route


def test_a_canary_answering_unusably_is_rolled_back_and_its_images_are_tagged_by_the_primary(route_with_a_canary):
    images = [
        add_product_image(product=ProductFactory(), upload=image_upload(colour=(25 * index, 60, 90)))
        for index in range(10)
    ]
    on_canary = [image for image in images if routing.bucket("vision-tagging", image.sha256) < 50]
    assert len(on_canary) >= 5

    analyses = [services.analyze_image(image_id=image.pk) for image in images]

    assert {analysis.status for analysis in analyses} == {ImageAnalysis.Status.SUCCEEDED}
    assert {analysis.model for analysis in analyses} == {PRIMARY}
    assert all(analysis.product_tags.exists() for analysis in analyses)
    touched = {analysis.image_id: analysis for analysis in analyses if analysis.image_id in {i.pk for i in on_canary}}
    assert {analysis.arm for analysis in touched.values()} >= {"fallback"}
    assert Route.objects.get(name="vision-tagging").canary_percent == 0
    rollback = CanaryEvent.objects.get(kind="rollback")
    assert rollback.error_rate == 1.0
    assert LLMCall.objects.filter(model=CANARY, outcome="unusable").count() == rollback.calls
