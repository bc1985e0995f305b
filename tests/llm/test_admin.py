import pytest
from django.contrib.auth import get_user_model

from llm import gateway
from llm.models import CanaryEvent, Route
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_spend_page_lists_cost_per_day_and_model(make_route, staff_client):
    make_route()
    gateway.complete(ask())

    page = staff_client.get("/admin/llm/llmcall/spend/?days=1")

    assert page.status_code == 200
    assert "gemini-2.5-flash" in page.content.decode()


def test_canary_page_shows_arms_and_rollback_events(make_route, staff_client):
    make_route(canary="claude-sonnet-4.5", canary_percent=10)
    CanaryEvent.objects.create(
        route="vision-tagging", model="claude-sonnet-4.5", previous_percent=10, reason="error rate 9.0% > 5.0%"
    )

    html = staff_client.get("/admin/llm/llmcall/canary/").content.decode()

    assert "claude-sonnet-4.5" in html and "error rate 9.0% &gt; 5.0%" in html


def test_canary_percent_edited_in_the_route_list_takes_effect_and_is_recorded(make_route, staff_client):
    route = make_route(canary="claude-sonnet-4.5", canary_percent=0)

    response = staff_client.post(
        "/admin/llm/route/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(route.pk),
            "form-0-canary_percent": "100",
            "form-0-enabled": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    assert Route.objects.get(pk=route.pk).canary_percent == 100
    assert gateway.complete(ask(routing_key="any-key")).arm == "canary"
    assert CanaryEvent.objects.get(kind="change").new_percent == 100
