"""The gateway's configuration, read from settings (which read the environment).

Default: one OpenAI-compatible provider at OPENAI_BASE_URL with OPENAI_API_KEY, and the
vision model SHELFSIGHT_VISION_MODEL on every route. With no key the gateway reports
itself unconfigured and tagging uses the local analyser.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from llm.pricing import Price

# USD per million tokens (input, output). Sources are listed in docs/providers.md.
SEED_PRICES: dict[str, Price] = {
    "gemini-2.5-flash": Price(Decimal("0.30"), Decimal("2.50")),
    "deepseek-v3.2": Price(Decimal("0.28"), Decimal("0.42")),
    "gpt-4.1": Price(Decimal("2.00"), Decimal("8.00")),
    "claude-sonnet-4.5": Price(Decimal("3.00"), Decimal("15.00")),
}
UNKNOWN_MODEL_PRICE = Price(Decimal("0"), Decimal("0"))


@dataclass(frozen=True)
class Deployment:
    provider: str
    base_url: str
    api_key: str
    model: str
    price: Price
    timeout: float
    max_retries: int
    supports_json_schema: bool = True
    supports_vision: bool = True


def default_deployment() -> Deployment:
    model = settings.SHELFSIGHT_VISION_MODEL
    return Deployment(
        provider="default",
        base_url=settings.OPENAI_BASE_URL,
        api_key=settings.OPENAI_API_KEY,
        model=model,
        price=SEED_PRICES.get(model, UNKNOWN_MODEL_PRICE),
        timeout=settings.SHELFSIGHT_LLM_TIMEOUT,
        max_retries=settings.SHELFSIGHT_LLM_MAX_RETRIES,
    )
