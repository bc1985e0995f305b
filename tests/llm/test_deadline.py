"""A request with a deadline answers within it: fallbacks included, no SDK retry, no Retry-After wait."""

import time

import pytest

from llm import gateway
from llm.exceptions import ProviderUnavailable
from llm.models import LLMCall
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_providers(settings, make_route, monkeypatch):
    """The chain gemini-2.5-flash (alpha) → deepseek-v3.2 (beta), with the SDK's own patience."""
    settings.SHELFSIGHT_LLM_TIMEOUT = 10.0
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 2)
    return make_route()


def test_a_hanging_model_is_cut_at_the_deadline_and_the_fallback_is_skipped(patient_providers, two_providers):
    two_providers["alpha"].script(Reply(hang=True))

    started = time.perf_counter()
    with pytest.raises(ProviderUnavailable, match="deadline passed"):
        gateway.complete(ask(deadline_seconds=0.3))
    elapsed = time.perf_counter() - started

    assert elapsed < 0.3 + 0.3
    assert [(call.model, call.outcome) for call in LLMCall.objects.order_by("attempt")] == [
        ("gemini-2.5-flash", "timeout"),
        ("deepseek-v3.2", "skipped"),
    ]
    assert len(two_providers["alpha"].chat_requests) <= 1  # no SDK retry (on a busy machine it may not arrive)
    assert two_providers["beta"].chat_requests == []


def test_under_a_deadline_a_rate_limit_falls_back_at_once_instead_of_waiting(patient_providers, two_providers):
    two_providers["alpha"].script(Reply.rate_limited(retry_after=5))

    started = time.perf_counter()
    result = gateway.complete(ask(deadline_seconds=2.0))

    assert time.perf_counter() - started < 1.0
    assert result.model == "deepseek-v3.2"
    assert len(two_providers["alpha"].chat_requests) == 1


def test_without_a_deadline_the_sdk_still_retries(patient_providers, two_providers):
    two_providers["alpha"].script(Reply.rate_limited(retry_after=0.01))

    result = gateway.complete(ask())

    assert result.model == "gemini-2.5-flash"
    assert len(two_providers["alpha"].chat_requests) == 2
