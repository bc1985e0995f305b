"""Two loopback providers and helpers to configure routes over them."""

from decimal import Decimal

import pytest

from llm.models import ModelDeployment, Provider, Route, RouteStep
from tests.fakes.openai_server import FakeOpenAIServer

ALPHA_KEY = "sk-alpha-secret-9f8e7d6c5b4a"
BETA_KEY = "sk-beta-secret-1a2b3c4d5e6f"


@pytest.fixture
def alpha_server():
    with FakeOpenAIServer(models=("gemini-2.5-flash", "gpt-4.1"), api_key=ALPHA_KEY) as server:
        yield server


@pytest.fixture
def beta_server():
    with FakeOpenAIServer(models=("deepseek-v3.2", "claude-sonnet-4.5"), api_key=BETA_KEY) as server:
        yield server


@pytest.fixture
def two_providers(db, alpha_server, beta_server, monkeypatch, settings):
    """Providers alpha and beta (keys in ALPHA_API_KEY / BETA_API_KEY) with the seed models."""
    settings.SHELFSIGHT_LLM_TIMEOUT = 2.0
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 0)
    monkeypatch.setenv("ALPHA_API_KEY", ALPHA_KEY)
    monkeypatch.setenv("BETA_API_KEY", BETA_KEY)
    alpha = Provider.objects.create(name="alpha", base_url=alpha_server.base_url, api_key_env="ALPHA_API_KEY")
    beta = Provider.objects.create(name="beta", base_url=beta_server.base_url, api_key_env="BETA_API_KEY")
    deployments = {
        "gemini-2.5-flash": (alpha, "efficient", "0.30", "2.50"),
        "gpt-4.1": (alpha, "premium", "2.00", "8.00"),
        "deepseek-v3.2": (beta, "budget", "0.28", "0.42"),
        "claude-sonnet-4.5": (beta, "premium", "3.00", "15.00"),
    }
    for name, (provider, tier, input_price, output_price) in deployments.items():
        ModelDeployment.objects.create(
            name=name,
            provider=provider,
            tier=tier,
            input_price_per_mtok=Decimal(input_price),
            output_price_per_mtok=Decimal(output_price),
        )
    return {"alpha": alpha_server, "beta": beta_server}


@pytest.fixture
def make_route(two_providers):
    def make(name="vision-tagging", chain=("gemini-2.5-flash", "deepseek-v3.2"), **fields) -> Route:
        canary = fields.pop("canary", None)
        if canary:
            fields["canary"] = ModelDeployment.objects.get(name=canary)
        route = Route.objects.create(name=name, **fields)
        for position, model in enumerate(chain, start=1):
            RouteStep.objects.create(route=route, deployment=ModelDeployment.objects.get(name=model), position=position)
        return route

    return make


def ask(route="vision-tagging", text="Describe this.", **fields):
    from llm.types import ChatRequest

    return ChatRequest(route=route, messages=[{"role": "user", "content": text}], **fields)
