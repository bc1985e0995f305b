"""API keys never appear in logs, error messages or admin pages."""

import logging

import pytest
from django.contrib.auth import get_user_model

from llm import gateway
from llm.exceptions import ProviderUnavailable
from llm.models import LLMCall, Provider
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ALPHA_KEY, BETA_KEY, ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_wrong_key_error_never_carries_a_key(make_route, two_providers, monkeypatch, caplog):
    monkeypatch.setenv("ALPHA_API_KEY", "sk-wrong-key-should-not-leak-123")
    monkeypatch.setenv("BETA_API_KEY", "sk-wrong-key-should-not-leak-456")
    two_providers["alpha"].echo_key_in_errors = two_providers["beta"].echo_key_in_errors = True
    make_route()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderUnavailable) as raised:
        gateway.complete(ask())

    stored = " ".join(LLMCall.objects.values_list("error_message", flat=True))
    for text in (str(raised.value), caplog.text, stored):
        assert "sk-wrong-key" not in text
        assert ALPHA_KEY not in text and BETA_KEY not in text
    assert "auth" in str(raised.value)


def test_logs_of_a_fallback_carry_no_key(make_route, two_providers, caplog):
    make_route()
    caplog.set_level(logging.DEBUG)
    two_providers["alpha"].script(Reply.rate_limited(0.01), Reply.server_error())

    gateway.complete(ask())

    assert caplog.text
    assert ALPHA_KEY not in caplog.text and BETA_KEY not in caplog.text


def test_admin_shows_the_key_variable_name_not_the_key(make_route, two_providers, staff_client):
    make_route()
    gateway.complete(ask())
    alpha = Provider.objects.get(name="alpha")

    pages = [
        staff_client.get("/admin/llm/provider/"),
        staff_client.get(f"/admin/llm/provider/{alpha.pk}/change/"),
        staff_client.get("/admin/llm/llmcall/"),
        staff_client.get("/admin/llm/llmcall/health/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert ALPHA_KEY not in html and BETA_KEY not in html
    assert "ALPHA_API_KEY" in pages[1].content.decode()


def test_provider_cannot_point_at_a_variable_that_is_not_an_api_key():
    from django.core.exceptions import ValidationError

    provider = Provider(name="sneaky", api_key_env="DJANGO_SECRET_KEY")

    with pytest.raises(ValidationError):
        provider.full_clean()


def test_a_key_echoed_in_a_successful_answer_is_redacted(make_route, two_providers):
    make_route()
    two_providers["alpha"].answer = f"You sent {ALPHA_KEY}, all fine."

    result = gateway.complete(ask())

    assert result.text == "You sent [redacted], all fine."


def test_a_key_echoed_across_stream_chunks_is_redacted(make_route, two_providers):
    make_route()
    # The server sends 24 characters a chunk, so the key is split between chunks.
    answer = f"{'x' * 17}{ALPHA_KEY} and again {ALPHA_KEY}."
    two_providers["alpha"].answer = answer

    pieces = list(gateway.stream(ask()))

    assert len(pieces) > 1
    assert "".join(pieces) == answer.replace(ALPHA_KEY, "[redacted]")
