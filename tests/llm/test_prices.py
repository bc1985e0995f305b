"""A model without a price staff set is never called: no call log row, estimate or budget at $0."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from llm import gateway
from llm.exceptions import BudgetExceeded, PriceUnknown, ProviderUnavailable
from llm.models import LLMCall, ModelDeployment, Route
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def unprice(model: str) -> None:
    ModelDeployment.objects.filter(name=model).update(input_price_per_mtok=None, output_price_per_mtok=None)


@pytest.fixture
def unpriced_primary(make_route):
    """vision-tagging: gemini-2.5-flash (no price) → deepseek-v3.2 (priced)."""
    unprice("gemini-2.5-flash")
    return make_route()


def test_a_model_without_a_price_is_skipped_and_the_next_one_answers(unpriced_primary, two_providers):
    result = gateway.complete(ask())

    assert result.model == "deepseek-v3.2"
    assert two_providers["alpha"].chat_requests == []
    skipped = LLMCall.objects.get(request_id=result.request_id, attempt=1)
    assert skipped.outcome == "skipped"
    assert skipped.error_message.startswith("no price set")
    assert not LLMCall.objects.filter(outcome="success", cost_usd=0).exists()


def test_a_route_whose_only_model_has_no_price_calls_nothing(make_route, two_providers):
    unprice("gemini-2.5-flash")
    make_route(chain=("gemini-2.5-flash",))

    with pytest.raises(ProviderUnavailable, match="no price set"):
        gateway.complete(ask())

    assert two_providers["alpha"].chat_requests == []


def test_the_default_route_does_not_call_a_model_it_has_no_price_for(provider_settings, model_server):
    provider_settings.SHELFSIGHT_VISION_MODEL = "some-new-model"
    model_server.models.append("some-new-model")

    with pytest.raises(ProviderUnavailable, match="no price set"):
        gateway.complete(ask())

    assert model_server.chat_requests == []
    assert not LLMCall.objects.exclude(outcome="skipped").exists()


def test_a_route_whose_models_have_no_price_is_not_configured_for_calls(provider_settings):
    from tagging.services import estimate_analysis_cost

    provider_settings.SHELFSIGHT_VISION_MODEL = "some-new-model"

    assert gateway.is_configured(route="vision-tagging") is False  # as with no key: the offline path
    assert estimate_analysis_cost(image_count=100) == 0  # the local analyser's true cost, no error


def test_an_estimate_is_never_made_at_a_zero_price(provider_settings):
    provider_settings.SHELFSIGHT_VISION_MODEL = "some-new-model"

    with pytest.raises(PriceUnknown):
        gateway.estimate_cost(route="vision-tagging", input_tokens=1000, output_tokens=100)


def test_an_estimate_uses_the_first_model_with_a_price(unpriced_primary):
    estimate = gateway.estimate_cost(route="vision-tagging", input_tokens=1_000_000, output_tokens=0)

    assert estimate == Decimal("0.28")  # deepseek-v3.2's input price, not gemini's unknown one


def test_a_budget_is_checked_against_the_model_that_will_be_called(unpriced_primary, two_providers):
    Route.objects.filter(name="vision-tagging").update(daily_budget_usd=Decimal("0.000001"))

    with pytest.raises(BudgetExceeded):
        gateway.complete(ask(max_output_tokens=100))

    assert two_providers["beta"].chat_requests == []


def test_a_free_model_priced_zero_by_staff_is_called(make_route, two_providers):
    ModelDeployment.objects.filter(name="gemini-2.5-flash").update(input_price_per_mtok=0, output_price_per_mtok=0)
    make_route()

    result = gateway.complete(ask())

    assert (result.model, result.cost_usd) == ("gemini-2.5-flash", Decimal("0"))


def test_half_a_price_is_refused():
    from django.core.exceptions import ValidationError

    from llm.models import Provider

    deployment = ModelDeployment(
        name="m", provider=Provider.objects.create(name="p"), input_price_per_mtok=Decimal("1")
    )
    with pytest.raises(ValidationError, match="both"):
        deployment.full_clean()


def test_routing_status_says_which_model_has_no_price(unpriced_primary):
    output = run("routing", "status")

    assert "1. gemini-2.5-flash @ alpha [efficient, key set] NO PRICE" in output
    assert "2. deepseek-v3.2 @ beta [budget, key set]\n" in output


def test_check_provider_refuses_to_probe_a_model_without_a_price(unpriced_primary, two_providers):
    with pytest.raises(CommandError, match=r"gemini-2\.5-flash has no price"):
        run("check_provider", "--provider", "alpha", "--model", "gemini-2.5-flash")

    assert two_providers["alpha"].chat_requests == []


def test_admin_lists_and_flags_models_without_a_price(unpriced_primary, client):
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw-for-tests-only"))

    page = client.get("/admin/llm/modeldeployment/").content.decode()
    route_page = client.get(f"/admin/llm/route/{unpriced_primary.pk}/change/").content.decode()

    assert "No price set for gemini-2.5-flash @ alpha" in page
    assert "NO PRICE: not called until one is set" in page
    assert "No price set for gemini-2.5-flash @ alpha" in route_page
