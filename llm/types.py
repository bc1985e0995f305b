"""The gateway's request and result: the whole contract between callers and the llm app."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """What a caller asks of a route. Callers name a route, never a model.

    ``response_schema`` (a JSON Schema object) asks for structured output: sent as
    ``json_schema`` (strict) to models that support it, ``json_object`` otherwise.
    ``routing_key`` keeps one item on one canary arm (an image's SHA-256, a session id).
    ``tier`` overrides the route's own tier choice (budget / efficient / premium).
    ``deadline_seconds`` bounds the whole request, fallbacks included (see llm.gateway).
    ``validate`` is called with an answer's text and raises ValueError when the answer is
    unusable: the gateway then logs that call as a failure of its model (outcome "unusable")
    and moves on to the next model of the chain, as after a 5xx.
    """

    route: str
    messages: list[dict[str, Any]]
    response_schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    routing_key: str = ""
    tier: str | None = None
    tier_reason: str = ""
    needs_vision: bool = False
    max_output_tokens: int | None = None
    temperature: float | None = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    deadline_seconds: float | None = None
    validate: Callable[[str], Any] | None = None


@dataclass(frozen=True)
class ChatResult:
    """The answer of the model that actually answered, with what it cost."""

    text: str
    route: str
    provider: str
    model: str
    arm: str
    tier: str
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    latency_ms: float
    attempts: int
    call_id: int
    request_id: str
    fallback_reason: str = ""
