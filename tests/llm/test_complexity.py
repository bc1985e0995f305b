import pytest

from llm import gateway
from llm.complexity import RequestFeatures, TierChoice, choose_tier
from llm.models import LLMCall
from tests.llm.conftest import ask


def test_short_ranking_of_few_candidates_goes_to_the_budget_tier():
    assert choose_tier(RequestFeatures(candidate_count=8, prompt_chars=1500)).tier == "budget"


def test_many_candidates_with_a_short_context_need_the_efficient_tier():
    choice = choose_tier(RequestFeatures(candidate_count=20, has_context=True, context_chars=80))

    assert choice.tier == "efficient"
    assert "20 candidates (+1)" in choice.reason


def test_explanations_over_many_candidates_with_long_context_need_premium():
    features = RequestFeatures(candidate_count=40, has_context=True, context_chars=600, wants_reasons=True)

    assert choose_tier(features).tier == "premium"


def test_very_long_prompt_alone_moves_up_from_budget():
    assert choose_tier(RequestFeatures(prompt_chars=50_000)).tier == "efficient"


def test_override_wins_and_is_the_reason():
    assert choose_tier(RequestFeatures(candidate_count=50), override="budget") == TierChoice(
        "budget", "override: budget"
    )


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match="unknown tier"):
        choose_tier(RequestFeatures(), override="cheap")


@pytest.mark.django_db
def test_tiered_route_sends_the_request_to_its_tier_and_records_why(make_route):
    make_route(name="recommendations", strategy="tiered", chain=("gemini-2.5-flash", "deepseek-v3.2", "gpt-4.1"))
    choice = choose_tier(RequestFeatures(candidate_count=5))

    result = gateway.complete(ask(route="recommendations", tier=choice.tier, tier_reason=choice.reason))

    assert (result.model, result.tier) == ("deepseek-v3.2", "budget")
    call = LLMCall.objects.get(pk=result.call_id)
    assert (call.tier, call.tier_reason) == ("budget", choice.reason)


@pytest.mark.django_db
def test_tiered_route_without_a_tier_uses_its_default(make_route):
    make_route(name="recommendations", strategy="tiered", chain=("deepseek-v3.2", "gpt-4.1"), default_tier="premium")

    assert gateway.complete(ask(route="recommendations")).model == "gpt-4.1"
