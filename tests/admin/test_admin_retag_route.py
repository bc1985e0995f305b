"""The re-tag confirmation lets staff choose the gateway route, prices it, and passes it on."""

import json

import pytest
from django_q.models import OrmQ

from llm.models import ModelDeployment, Route, RouteStep
from llm.services import seed_configuration
from tagging import services as tagging_services
from tagging.models import ImageAnalysis
from tests.tagging.conftest import full_answer

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"


def retag(client, product, **extra):
    return client.post(CHANGELIST, {"action": "retag_with_ai", "_selected_action": [product.pk], **extra})


@pytest.fixture
def premium_route(provider_settings):
    """The seeded gateway plus a route that pins the dearer gpt-4.1, all on the loopback server."""
    seed_configuration(premium_fallback=True)
    route = Route.objects.create(name="vision-premium")
    RouteStep.objects.create(route=route, deployment=ModelDeployment.objects.get(name="gpt-4.1"), position=1)
    return route


def test_confirmation_offers_each_vision_route_with_its_models(staff_client, waiting_image, premium_route):
    product, _, _ = waiting_image

    page = retag(staff_client, product).content.decode()

    assert '<option value="vision-tagging" selected>vision-tagging — gemini-2.5-flash → gpt-4.1</option>' in page
    assert '<option value="vision-premium">vision-premium — gpt-4.1</option>' in page
    assert 'id="retag-route">vision-tagging</code>' in page


def test_updating_the_estimate_prices_the_chosen_route(staff_client, waiting_image, premium_route):
    product, _, _ = waiting_image
    premium = tagging_services.estimate_analysis_cost(image_count=1, route="vision-premium")
    default = tagging_services.estimate_analysis_cost(image_count=1, route="vision-tagging")

    page = retag(staff_client, product, estimate="Update estimate", workflow="full", route="vision-premium").content

    assert premium > default
    assert f'id="retag-estimated-cost">${premium}</strong>' in page.decode()
    assert 'id="retag-route">vision-premium</code>' in page.decode()
    assert not OrmQ.objects.exists()


def test_confirming_after_changing_the_route_without_a_new_estimate_queues_nothing(
    staff_client, waiting_image, premium_route
):
    product, _, _ = waiting_image

    response = retag(
        staff_client, product, confirm="yes", workflow="full", route="vision-premium", estimated_route="vision-tagging"
    )

    assert response.status_code == 200
    assert "The route changed" in response.content.decode()
    assert not ImageAnalysis.objects.filter(status=ImageAnalysis.Status.QUEUED).exists()


def test_an_unknown_route_is_refused(staff_client, waiting_image, premium_route):
    product, _, _ = waiting_image

    response = retag(staff_client, product, confirm="yes", workflow="full", route="no-such-route")

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ImageAnalysis.objects.filter(status=ImageAnalysis.Status.QUEUED).exists()


def test_confirming_a_chosen_route_analyses_down_it_and_records_it(
    staff_client, waiting_image, premium_route, model_server, sync_tasks, django_capture_on_commit_callbacks
):
    product, image, _ = waiting_image
    model_server.answer = json.dumps(full_answer())

    with django_capture_on_commit_callbacks(execute=True):
        response = retag(
            staff_client,
            product,
            confirm="yes",
            workflow="full",
            route="vision-premium",
            estimated_route="vision-premium",
        )

    assert response.status_code == 302
    assert [request["model"] for request in model_server.chat_requests] == ["gpt-4.1"]
    newest = ImageAnalysis.objects.filter(image=image).latest("id")
    assert (newest.status, newest.route, newest.model) == ("succeeded", "vision-premium", "gpt-4.1")
