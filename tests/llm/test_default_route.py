from decimal import Decimal

import pytest

from llm import config, gateway
from llm.exceptions import RouteNotConfigured
from llm.models import LLMCall, ModelDeployment, Route
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


def test_default_route_answers_from_settings_read_at_call_time(provider_settings, model_server):
    provider_settings.SHELFSIGHT_VISION_MODEL = "gpt-4.1"

    result = gateway.complete(ask(route="recommendations"))

    assert (result.model, result.provider, result.arm) == ("gpt-4.1", "default", "primary")
    assert model_server.chat_requests[-1]["model"] == "gpt-4.1"


def test_not_configured_without_an_api_key(settings):
    settings.OPENAI_API_KEY = ""

    assert gateway.is_configured(route="vision-tagging") is False


def test_configured_with_an_api_key(provider_settings):
    assert gateway.is_configured(route="vision-tagging") is True


def test_cost_comes_from_reported_usage_to_the_microdollar(provider_settings, model_server):
    model_server.script(Reply(content="{}", usage=(1234, 567)))

    result = gateway.complete(ask())

    # 1234 × $0.30/M + 567 × $2.50/M = $0.0003702 + $0.0014175 = $0.0017877 → $0.001788
    assert result.cost_usd == Decimal("0.001788")
    call = LLMCall.objects.get(pk=result.call_id)
    assert (call.input_tokens, call.output_tokens, call.cost_usd) == (1234, 567, Decimal("0.001788"))


def test_estimate_cost_uses_the_primary_model_price(provider_settings):
    assert gateway.estimate_cost(route="vision-tagging", input_tokens=1_000_000, output_tokens=1_000_000) == Decimal(
        "2.800000"
    )


def test_primary_model_follows_the_route_row(make_route):
    make_route(chain=("deepseek-v3.2", "gemini-2.5-flash"))

    assert gateway.primary_model(route="vision-tagging") == "deepseek-v3.2"


def test_route_edit_applies_without_restart(make_route, two_providers):
    route = make_route(chain=("gemini-2.5-flash",))
    assert gateway.complete(ask()).model == "gemini-2.5-flash"

    route.steps.all().delete()
    route.steps.create(deployment=ModelDeployment.objects.get(name="deepseek-v3.2"), position=1)

    assert gateway.complete(ask()).model == "deepseek-v3.2"


def test_other_processes_reload_when_the_version_moves(make_route, monkeypatch):
    monkeypatch.setattr("llm.config.RECHECK_SECONDS", 0)
    make_route(chain=("gemini-2.5-flash",))
    before = config.snapshot()

    Route.objects.filter(name="vision-tagging").update(canary_percent=0)  # no signal, like another process
    assert config.snapshot() is before
    config.cache.incr(config.VERSION_KEY)  # what that process's save did

    assert config.snapshot() is not before


def test_disabled_route_raises_route_not_configured(make_route):
    make_route(enabled=False)

    with pytest.raises(RouteNotConfigured):
        gateway.complete(ask())
    assert gateway.is_configured(route="vision-tagging") is False


def test_vision_request_skips_text_only_models(make_route, two_providers):
    ModelDeployment.objects.filter(name="deepseek-v3.2").update(supports_vision=False)
    make_route(chain=("deepseek-v3.2", "gemini-2.5-flash"))

    assert gateway.complete(ask(needs_vision=True)).model == "gemini-2.5-flash"


def test_json_schema_sent_only_to_models_that_support_it(make_route, two_providers):
    ModelDeployment.objects.filter(name="deepseek-v3.2").update(supports_json_schema=False)
    make_route(chain=("deepseek-v3.2",))

    gateway.complete(ask(response_schema={"type": "object"}))

    assert two_providers["beta"].chat_requests[-1]["response_format"] == {"type": "json_object"}
