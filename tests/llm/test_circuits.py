"""Circuits are per route and deployment: one route's failures never skip a model on another."""

import pytest

from llm import breaker, gateway
from llm.exceptions import ProviderUnavailable
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

# Circuit state lives in the cache production runs on without Redis: the database cache.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]


def test_failures_on_one_route_do_not_open_the_circuit_of_another(make_route, two_providers):
    make_route(name="recommendations", chain=("gemini-2.5-flash",), breaker_failures=2)
    make_route(name="vision-tagging", chain=("gemini-2.5-flash",), breaker_failures=2)
    two_providers["alpha"].script(Reply.server_error(), Reply.server_error())
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            gateway.complete(ask(route="recommendations"))

    result = gateway.complete(ask(route="vision-tagging"))

    assert result.model == "gemini-2.5-flash"
    assert breaker.open_until("recommendations", "alpha/gemini-2.5-flash") is not None
    assert breaker.open_until("vision-tagging", "alpha/gemini-2.5-flash") is None


def test_the_default_routes_share_a_model_but_not_its_circuit(provider_settings, model_server):
    model_server.script(*[Reply.server_error()] * 5)
    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            gateway.complete(ask(route="recommendations"))

    assert gateway.complete(ask(route="vision-tagging")).model == "gemini-2.5-flash"


def test_tagging_failures_do_not_open_the_storefront_circuit(provider_settings, model_server):
    model_server.script(*[Reply.server_error()] * 5)
    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            gateway.complete(ask(route="vision-tagging"))

    assert breaker.open_until("vision-tagging", "default/gemini-2.5-flash") is not None
    assert gateway.complete(ask(route="recommendations")).model == "gemini-2.5-flash"
