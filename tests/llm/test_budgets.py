from decimal import Decimal

import pytest

from llm import gateway
from llm.exceptions import BudgetExceeded, ProviderUnavailable
from llm.models import LLMCall
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

# Spend counters live in the cache production runs on without Redis: the database cache.
# Reservations racing from many threads: tests/config/counting_under_threads.py, on a SQLite
# file (the suite's in-memory database refuses concurrent writers) and on PostgreSQL.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]


def spend(amount: str, route: str = "vision-tagging") -> None:
    LLMCall.objects.create(
        request_id="00000000-0000-0000-0000-000000000001",
        route=route,
        provider="alpha",
        model="gemini-2.5-flash",
        outcome="success",
        cost_usd=Decimal(amount),
    )


def test_over_daily_cap_refuses_without_calling_any_model(make_route, two_providers):
    make_route(daily_budget_usd=Decimal("1.00"), over_budget="refuse")
    spend("0.999")

    with pytest.raises(BudgetExceeded, match="daily budget"):
        gateway.complete(ask(max_output_tokens=500))

    assert two_providers["alpha"].chat_requests == two_providers["beta"].chat_requests == []
    assert LLMCall.objects.filter(outcome="skipped", error_class="BudgetExceeded").count() == 1


def test_over_monthly_cap_refuses(make_route):
    make_route(monthly_budget_usd=Decimal("5.00"), over_budget="refuse")
    spend("5.00")

    with pytest.raises(BudgetExceeded, match="monthly budget"):
        gateway.complete(ask())


def test_under_cap_calls_the_primary(make_route):
    make_route(daily_budget_usd=Decimal("1.00"))
    spend("0.50")

    assert gateway.complete(ask()).model == "gemini-2.5-flash"


def test_over_cap_downgrades_to_the_budget_tier_and_says_why(make_route, two_providers):
    make_route(chain=("gpt-4.1", "gemini-2.5-flash"), daily_budget_usd=Decimal("1.00"), over_budget="downgrade")
    spend("1.00")

    result = gateway.complete(ask())

    assert (result.model, result.tier) == ("deepseek-v3.2", "budget")
    call = LLMCall.objects.get(pk=result.call_id)
    assert call.tier_reason == "over daily budget: downgraded to budget tier"
    assert two_providers["alpha"].chat_requests == []


def test_spend_counter_follows_each_call(make_route, two_providers):
    make_route(daily_budget_usd=Decimal("0.010000"), over_budget="refuse")
    # $0.0028 then $0.0115 (30 000 in × $0.30/M + 1000 out × $2.50/M): the second fits, the third would not
    two_providers["alpha"].script(Reply(content="{}", usage=(1000, 1000)), Reply(content="{}", usage=(30000, 1000)))
    gateway.complete(ask(max_output_tokens=100))
    gateway.complete(ask(max_output_tokens=100))

    with pytest.raises(BudgetExceeded):
        gateway.complete(ask(max_output_tokens=100))


def test_fallback_to_a_pricier_model_is_skipped_when_it_would_break_the_cap(make_route, two_providers):
    make_route(chain=("deepseek-v3.2", "claude-sonnet-4.5"), daily_budget_usd=Decimal("0.01"))
    spend("0.005")
    two_providers["beta"].script(Reply.server_error())

    with pytest.raises(ProviderUnavailable, match=r"claude-sonnet-4\.5: over budget"):
        gateway.complete(ask(max_output_tokens=1000))


def test_failed_call_gives_its_reservation_back(make_route, two_providers):
    from llm import budgets

    make_route(daily_budget_usd=Decimal("1.00"))
    spend("0.25")
    two_providers["alpha"].script(Reply.server_error())
    two_providers["beta"].script(Reply.server_error())

    with pytest.raises(ProviderUnavailable):
        gateway.complete(ask(max_output_tokens=1000))

    assert budgets.spent("vision-tagging")[0] == Decimal("0.250000")
