from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from llm.models import CanaryEvent, LLMCall, ModelDeployment, Route, RouteStep
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ALPHA_KEY

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_status_lists_the_default_route_when_none_is_configured(provider_settings):
    output = run("routing", "status")

    assert "vision-tagging  (default from settings)" in output
    assert "gemini-2.5-flash @ default [efficient, key set]" in output
    assert provider_settings.OPENAI_API_KEY not in output


def test_status_shows_chain_canary_and_budget(make_route):
    from decimal import Decimal

    make_route(canary="claude-sonnet-4.5", canary_percent=10, daily_budget_usd=Decimal("20"))

    output = run("routing", "status")

    assert "1. gemini-2.5-flash @ alpha" in output
    assert "2. deepseek-v3.2 @ beta" in output
    assert "canary 10%: claude-sonnet-4.5 @ beta" in output
    assert "budget: day $20.00 → refuse" in output
    assert ALPHA_KEY not in output


def test_canary_command_sets_the_percentage_and_records_the_change(make_route):
    make_route(canary="claude-sonnet-4.5", canary_percent=0)

    output = run("routing", "canary", "vision-tagging", "25")

    assert "canary claude-sonnet-4.5 at 25%" in output
    assert Route.objects.get(name="vision-tagging").canary_percent == 25
    event = CanaryEvent.objects.get()
    assert (event.kind, event.previous_percent, event.new_percent) == ("change", 0, 25)


def test_canary_command_can_name_the_canary_model(make_route):
    make_route()

    run("routing", "canary", "vision-tagging", "5", "--model", "beta/claude-sonnet-4.5")

    assert Route.objects.get(name="vision-tagging").canary.name == "claude-sonnet-4.5"


def test_canary_command_refuses_an_unknown_route(db):
    with pytest.raises(CommandError, match="no route named"):
        run("routing", "canary", "nowhere", "25")


def test_disable_and_enable_a_model(two_providers):
    run("routing", "disable", "gpt-4.1")
    assert ModelDeployment.objects.get(name="gpt-4.1").enabled is False

    run("routing", "enable", "gpt-4.1")
    assert ModelDeployment.objects.get(name="gpt-4.1").enabled is True


def test_init_creates_both_routes_on_the_default_provider(settings):
    output = run("routing", "init")

    assert "route vision-tagging" in output and "route recommendations" in output
    assert Route.objects.get(name="recommendations").strategy == "tiered"
    assert run("routing", "init").strip().endswith("nothing (all present)")


def chain(route: str) -> list[str]:
    steps = RouteStep.objects.filter(route__name=route).order_by("position")
    return list(steps.values_list("deployment__name", flat=True))


def test_init_prints_every_chain_it_creates_and_adds_no_premium_fallback(settings):
    output = run("routing", "init")

    assert chain("vision-tagging") == ["gemini-2.5-flash"]
    assert chain("recommendations") == ["deepseek-v3.2", "gemini-2.5-flash"]
    assert "route vision-tagging (fallback: gemini-2.5-flash)" in output
    assert "route recommendations (tiered: deepseek-v3.2 → gemini-2.5-flash; daily cap $5.00)" in output


def test_init_adds_the_premium_fallback_only_when_asked(settings):
    output = run("routing", "init", "--premium-fallback")

    assert chain("vision-tagging") == ["gemini-2.5-flash", "gpt-4.1"]
    assert "route vision-tagging (fallback: gemini-2.5-flash → gpt-4.1)" in output


def test_init_gives_an_unknown_vision_model_no_price_and_says_so(settings):
    settings.SHELFSIGHT_VISION_MODEL = "some-new-model"

    output = run("routing", "init")

    deployment = ModelDeployment.objects.get(name="some-new-model")
    assert (deployment.input_price_per_mtok, deployment.output_price_per_mtok) == (None, None)
    assert "model some-new-model (NO PRICE" in output
    assert chain("vision-tagging") == ["some-new-model"]


def test_the_recommendations_route_ships_with_a_daily_cap(settings):
    from llm import config

    assert config.route_config("recommendations").daily_budget_usd is not None
    run("routing", "init")
    assert Route.objects.get(name="recommendations").daily_budget_usd is not None


def test_check_provider_lists_models_and_times_a_probe(provider_settings, model_server):
    output = run("check_provider")

    assert "models (4): claude-sonnet-4.5, deepseek-v3.2, gemini-2.5-flash, gpt-4.1" in output
    assert "probe gemini-2.5-flash:" in output and " ms," in output
    assert provider_settings.OPENAI_API_KEY not in output


def test_check_provider_logs_its_probe_in_the_call_log_at_the_model_price(provider_settings, model_server):
    output = run("check_provider")

    call = LLMCall.objects.get()
    assert (call.route, call.provider, call.model, call.outcome) == (
        "check-provider", "default", "gemini-2.5-flash", "success"
    )
    assert call.input_tokens > 0 and call.cost_usd > 0
    assert f"call log #{call.pk}" in output


def test_a_failed_probe_is_logged_too(two_providers):
    two_providers["beta"].script(Reply.server_error(503))

    with pytest.raises(CommandError, match="503"):
        run("check_provider", "--provider", "beta")

    call = LLMCall.objects.get()
    assert (call.route, call.model, call.outcome, call.error_class) == (
        "check-provider", "claude-sonnet-4.5", "error", "InternalServerError"
    )


def test_check_provider_for_a_configured_provider(two_providers):
    output = run("check_provider", "--provider", "beta")

    assert "models (2): claude-sonnet-4.5, deepseek-v3.2" in output
    assert "probe claude-sonnet-4.5:" in output


def test_check_provider_reports_a_bad_key_without_showing_it(two_providers, monkeypatch):
    monkeypatch.setenv("BETA_API_KEY", "sk-not-the-right-one-777")
    two_providers["beta"].echo_key_in_errors = True

    with pytest.raises(CommandError) as raised:
        run("check_provider", "--provider", "beta")

    assert "401" in str(raised.value)
    assert "sk-not-the-right-one-777" not in str(raised.value)


def test_status_flags_a_model_whose_circuit_is_open(make_route):
    from llm import breaker

    make_route()
    breaker.record_failure("vision-tagging", "alpha/gemini-2.5-flash", failures=1, cooldown_seconds=60)

    output = run("routing", "status")

    assert "gemini-2.5-flash @ alpha [efficient, key set] CIRCUIT OPEN" in output
    assert "deepseek-v3.2 @ beta [budget, key set]\n" in output
