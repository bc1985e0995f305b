"""Re-tagging down a route staff chose: the model asked, what is recorded, what the sweep re-runs."""

import pytest

from llm.models import ModelDeployment, Route, RouteStep
from llm.services import seed_configuration
from tagging import selectors, services
from tagging.models import ImageAnalysis
from tests.tagging.conftest import full_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def premium_route(provider_settings):
    """The seeded gateway plus a route that pins gpt-4.1, all on the loopback server."""
    seed_configuration(premium_fallback=True)
    route = Route.objects.create(name="vision-premium")
    RouteStep.objects.create(route=route, deployment=ModelDeployment.objects.get(name="gpt-4.1"), position=1)
    return route


def test_retag_down_a_chosen_route_asks_its_model_and_records_the_route(
    product_image, premium_route, answering, model_server, sync_tasks, django_capture_on_commit_callbacks
):
    answering(full_answer())

    with django_capture_on_commit_callbacks(execute=True):
        services.enqueue_retag(image_ids=[product_image.pk], route="vision-premium")

    assert [request["model"] for request in model_server.chat_requests] == ["gpt-4.1"]
    analysis = ImageAnalysis.objects.get(image=product_image)
    assert (analysis.status, analysis.route, analysis.model) == ("succeeded", "vision-premium", "gpt-4.1")


def test_analysis_without_a_route_goes_down_vision_tagging(product_image, premium_route, answering, model_server):
    answering(full_answer())

    analysis = services.analyze_image(image_id=product_image.pk)

    assert (analysis.route, analysis.model) == ("vision-tagging", "gemini-2.5-flash")


def test_sweep_reruns_a_lost_retag_down_the_route_it_was_queued_for(
    product_image, premium_route, answering, model_server, sync_tasks
):
    from datetime import timedelta

    from django.utils import timezone

    answering(full_answer())
    services.enqueue_retag(image_ids=[product_image.pk], route="vision-premium")  # its task never went out
    an_hour_later = timezone.now() + timedelta(hours=1)

    assert services.retry_due_analyses(now=an_hour_later) == 1

    assert [request["model"] for request in model_server.chat_requests] == ["gpt-4.1"]
    assert ImageAnalysis.objects.get(image=product_image).route == "vision-premium"


def test_analysis_routes_lists_vision_routes_with_their_models_default_first(premium_route):
    text_only = Route.objects.create(name="text-only")
    RouteStep.objects.create(route=text_only, deployment=ModelDeployment.objects.get(name="deepseek-v3.2"))

    options = {option.name: option for option in selectors.analysis_routes()}

    assert next(iter(options)) == "vision-tagging"
    assert options["vision-tagging"].models == ("gemini-2.5-flash", "gpt-4.1")
    assert options["vision-premium"].models == ("gpt-4.1",)
    assert "text-only" not in options
