"""The one place that speaks to OpenAI-compatible HTTP APIs, through the openai SDK."""

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import openai


class ProviderCallFailed(Exception):
    """A call to one deployment failed; ``kind`` says how, ``retryable`` whether another model may help."""

    def __init__(self, message: str, *, kind: str, error_class: str, retryable: bool, latency_ms: float):
        super().__init__(message)
        self.kind = kind
        self.error_class = error_class
        self.retryable = retryable
        self.latency_ms = latency_ms


@dataclass(frozen=True)
class ProviderResponse:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: float


@lru_cache(maxsize=64)
def client_for(*, base_url: str, api_key: str, timeout: float, max_retries: int) -> openai.OpenAI:
    """One client (and so one connection pool) per deployment and process."""
    return openai.OpenAI(base_url=base_url, api_key=api_key or "unset", timeout=timeout, max_retries=max_retries)


def response_format_for(*, schema: dict[str, Any] | None, name: str, supports_json_schema: bool) -> dict | None:
    if schema is None:
        return None
    if supports_json_schema:
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    return {"type": "json_object"}


def chat(
    *,
    base_url: str,
    api_key: str,
    model: str,
    messages: list[dict[str, Any]],
    timeout: float,
    max_retries: int,
    response_format: dict | None = None,
    max_output_tokens: int | None = None,
    temperature: float | None = None,
) -> ProviderResponse:
    """One chat completion. The SDK's own retries (honouring Retry-After) happen inside.

    Raises ProviderCallFailed with the error classified; never lets the API key into a message.
    """
    client = client_for(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)
    arguments: dict[str, Any] = {"model": model, "messages": messages}
    if response_format is not None:
        arguments["response_format"] = response_format
    if max_output_tokens is not None:
        arguments["max_tokens"] = max_output_tokens
    if temperature is not None:
        arguments["temperature"] = temperature
    started = time.perf_counter()
    try:
        completion = client.chat.completions.create(**arguments)
    except openai.APIError as error:
        raise _classified(error, latency_ms=(time.perf_counter() - started) * 1000, api_key=api_key) from None
    latency_ms = (time.perf_counter() - started) * 1000
    choice = completion.choices[0] if completion.choices else None
    text = (choice.message.content or "") if choice is not None and choice.message is not None else ""
    usage = completion.usage
    return ProviderResponse(
        text=text,
        model=completion.model or model,
        input_tokens=(usage.prompt_tokens or 0) if usage else 0,
        output_tokens=(usage.completion_tokens or 0) if usage else 0,
        latency_ms=latency_ms,
    )


def list_models(*, base_url: str, api_key: str, timeout: float) -> list[str]:
    client = client_for(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
    try:
        return sorted(model.id for model in client.models.list())
    except openai.APIError as error:
        raise _classified(error, latency_ms=0.0, api_key=api_key) from None


def _classified(error: openai.APIError, *, latency_ms: float, api_key: str) -> ProviderCallFailed:
    if isinstance(error, openai.APITimeoutError):
        kind, retryable = "timeout", True
    elif isinstance(error, openai.APIConnectionError):
        kind, retryable = "connection", True
    elif isinstance(error, openai.RateLimitError):
        kind, retryable = "rate_limited", True
    elif isinstance(error, openai.APIStatusError) and error.status_code >= 500:
        kind, retryable = "server_error", True
    elif isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
        kind, retryable = "auth", True  # another provider has another key
    elif isinstance(error, openai.NotFoundError):
        kind, retryable = "unknown_model", True  # another model may exist
    elif isinstance(error, openai.APIResponseValidationError):
        kind, retryable = "malformed_response", True
    else:
        kind, retryable = "bad_request", False
    message = str(error)
    if api_key:
        message = message.replace(api_key, "[redacted]")
    status = getattr(error, "status_code", None)
    prefix = f"HTTP {status}: " if status else ""
    return ProviderCallFailed(
        f"{prefix}{message[:400]}",
        kind=kind,
        error_class=type(error).__name__,
        retryable=retryable,
        latency_ms=latency_ms,
    )
