import re
import time

import pytest

from llm import gateway
from llm.exceptions import ProviderUnavailable
from llm.models import LLMCall
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


def test_server_error_falls_back_to_the_next_provider(make_route, two_providers):
    make_route()
    two_providers["alpha"].script(Reply.server_error(503))

    result = gateway.complete(ask())

    assert (result.model, result.provider, result.arm, result.attempts) == ("deepseek-v3.2", "beta", "fallback", 2)
    assert "gemini-2.5-flash: server_error" in result.fallback_reason


def test_every_attempt_is_logged_with_its_number_and_reason(make_route, two_providers):
    make_route()
    two_providers["alpha"].script(Reply.server_error(500))

    result = gateway.complete(ask())

    calls = list(LLMCall.objects.filter(request_id=result.request_id).order_by("attempt"))
    assert [(call.attempt, call.model, call.outcome) for call in calls] == [
        (1, "gemini-2.5-flash", "error"),
        (2, "deepseek-v3.2", "success"),
    ]
    assert calls[0].error_class == "InternalServerError"
    assert calls[1].fallback_reason == "gemini-2.5-flash: server_error"


def test_timeout_falls_back_to_the_next_provider(make_route, two_providers, settings):
    settings.SHELFSIGHT_LLM_TIMEOUT = 0.4
    two_providers["alpha"].hang_seconds = 3
    make_route()
    two_providers["alpha"].script(Reply(hang=True))

    started = time.monotonic()
    result = gateway.complete(ask())

    assert result.model == "deepseek-v3.2"
    assert time.monotonic() - started < 2.0
    assert LLMCall.objects.get(model="gemini-2.5-flash").outcome == "timeout"


def test_unknown_model_moves_on_at_once_without_sdk_retries(make_route, two_providers, monkeypatch):
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 2)
    make_route(chain=("gpt-4.1", "deepseek-v3.2"))
    two_providers["alpha"].models.remove("gpt-4.1")

    result = gateway.complete(ask())

    assert result.model == "deepseek-v3.2"
    assert len(two_providers["alpha"].chat_requests) == 1
    assert LLMCall.objects.get(model="gpt-4.1").error_class == "NotFoundError"


def test_sdk_retries_are_added_not_multiplied_by_the_fallback_chain(make_route, two_providers, monkeypatch):
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 1)
    make_route()
    two_providers["alpha"].script(*[Reply(status=500, body=b'{"error": {"message": "down"}}', delay=0)] * 5)
    two_providers["beta"].script(*[Reply(status=500, body=b'{"error": {"message": "down"}}', delay=0)] * 5)

    with pytest.raises(ProviderUnavailable):
        gateway.complete(ask())

    assert len(two_providers["alpha"].chat_requests) == 2
    assert len(two_providers["beta"].chat_requests) == 2


def test_rate_limit_retry_after_is_honoured_on_the_same_model(make_route, two_providers, monkeypatch):
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 1)
    make_route()
    two_providers["alpha"].script(Reply.rate_limited(retry_after=0.6))

    started = time.monotonic()
    result = gateway.complete(ask())
    elapsed = time.monotonic() - started

    assert result.model == "gemini-2.5-flash"
    times = two_providers["alpha"].request_times
    assert len(times) == 2
    assert times[1] - times[0] >= 0.55
    assert elapsed < 3.0
    assert two_providers["beta"].chat_requests == []


def test_exhausted_chain_raises_provider_unavailable_naming_each_failure(make_route, two_providers):
    make_route()
    two_providers["alpha"].script(Reply.server_error())
    two_providers["beta"].script(Reply.server_error())

    with pytest.raises(
        ProviderUnavailable, match=re.escape("gemini-2.5-flash: server_error; deepseek-v3.2: server_error")
    ):
        gateway.complete(ask())


def test_an_unusable_answer_is_a_billed_failure_of_its_model_and_the_next_model_answers(make_route, two_providers):
    import json

    from llm import breaker
    from llm.config import route_config

    make_route()
    two_providers["alpha"].answer = "not the JSON that was asked for"
    two_providers["beta"].answer = '{"ok": true}'

    result = gateway.complete(ask(validate=json.loads))

    assert (result.model, result.text) == ("deepseek-v3.2", '{"ok": true}')
    assert "gemini-2.5-flash: unusable answer" in result.fallback_reason
    refused = LLMCall.objects.get(model="gemini-2.5-flash")
    assert refused.outcome == "unusable" and refused.error_class == "JSONDecodeError"
    assert refused.input_tokens > 0 and refused.cost_usd > 0
    primary = route_config("vision-tagging").primary
    for _ in range(4):  # five failures in a row open the circuit, unusable answers included
        gateway.complete(ask(validate=json.loads))
    assert breaker.is_open("vision-tagging", primary.key)


def test_every_model_answering_unusably_raises_provider_unavailable(make_route, two_providers):
    import json

    make_route()
    two_providers["alpha"].answer = two_providers["beta"].answer = "nope"

    with pytest.raises(ProviderUnavailable, match="unusable answer"):
        gateway.complete(ask(validate=json.loads))
    assert list(LLMCall.objects.values_list("outcome", flat=True)) == ["unusable", "unusable"]
