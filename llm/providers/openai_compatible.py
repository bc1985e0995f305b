"""The one place that speaks to OpenAI-compatible HTTP APIs, through the openai SDK."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import openai
from openai import Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

# The body is posted as built: chat.completions.create() would first walk it against the SDK's
# request types (the answer schema, and the image's whole data URL), CPU spent on every call
# (bench/sdk_call_cpu.py) for a body that is plain JSON already. Retries, Retry-After, timeouts,
# auth and the typed errors and response are the client's either way.
_CHAT_PATH = "/chat/completions"


class ProviderCallFailed(Exception):
    """A call to one deployment failed; ``kind`` says how (the gateway tries the route's next model either way)."""

    def __init__(self, message: str, *, kind: str, error_class: str, latency_ms: float):
        super().__init__(message)
        self.kind = kind
        self.error_class = error_class
        self.latency_ms = latency_ms


class DeadlinePassed(ProviderCallFailed):
    """The request's deadline ran out before or during this call."""


REDACTED = "[redacted]"


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


def _client(*, base_url: str, api_key: str, timeout: float, max_retries: int, deadline: float | None) -> openai.OpenAI:
    """The deployment's client, or under a deadline a copy of it (same connection pool) whose
    timeout is what is left of the deadline and which does not retry: a retry, after its
    back-off or a Retry-After, could only overrun it. with_options builds a new client object
    each time, so calls without a deadline (image analyses) keep the shared client."""
    client = client_for(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)
    if deadline is None:
        return client
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _deadline_passed("deadline passed before the call", started=time.perf_counter())
    return client.with_options(timeout=min(timeout, remaining), max_retries=0)


def _deadline_passed(message: str, *, started: float) -> DeadlinePassed:
    latency_ms = (time.perf_counter() - started) * 1000
    return DeadlinePassed(message, kind="timeout", error_class="DeadlinePassed", latency_ms=latency_ms)


def response_format_for(*, schema: dict[str, Any] | None, name: str, supports_json_schema: bool) -> dict | None:
    if schema is None:
        return None
    if supports_json_schema:
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    return {"type": "json_object"}


def _completion_arguments(
    model: str,
    messages: list[dict[str, Any]],
    response_format: dict | None,
    max_output_tokens: int | None,
    temperature: float | None,
) -> dict[str, Any]:
    arguments: dict[str, Any] = {"model": model, "messages": messages}
    if response_format is not None:
        arguments["response_format"] = response_format
    if max_output_tokens is not None:
        arguments["max_tokens"] = max_output_tokens
    if temperature is not None:
        arguments["temperature"] = temperature
    return arguments


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
    deadline: float | None = None,
) -> ProviderResponse:
    """One chat completion. The SDK's own retries (honouring Retry-After) happen inside.

    ``deadline`` (a time.monotonic() value) caps the call at what is left of it, without retries.
    Raises ProviderCallFailed with the error classified; never lets the API key into a message,
    nor into the answer's text (a provider may echo it even in a 200 answer).
    """
    client = _client(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, deadline=deadline)
    arguments = _completion_arguments(model, messages, response_format, max_output_tokens, temperature)
    started = time.perf_counter()
    try:
        completion = client.post(_CHAT_PATH, body=arguments, cast_to=ChatCompletion)
    except openai.APIError as error:
        raise _classified(error, latency_ms=(time.perf_counter() - started) * 1000, api_key=api_key) from None
    except (ValueError, OSError) as error:  # a body cut or garbled mid-way
        raise _broken(error, started=started) from None
    latency_ms = (time.perf_counter() - started) * 1000
    choice = completion.choices[0] if completion.choices else None
    text = (choice.message.content or "") if choice is not None and choice.message is not None else ""
    usage = completion.usage
    return ProviderResponse(
        text=_redacted(text, api_key),
        model=completion.model or model,
        input_tokens=(usage.prompt_tokens or 0) if usage else 0,
        output_tokens=(usage.completion_tokens or 0) if usage else 0,
        latency_ms=latency_ms,
    )


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a stream: the usage the provider reported."""

    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: float


def chat_stream(
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
    deadline: float | None = None,
) -> Iterator[str | StreamEnd]:
    """Open a streamed chat completion now (so connection and HTTP errors raise here, before any
    delta) and return an iterator of text deltas ending with one StreamEnd.

    Errors while iterating raise ProviderCallFailed too; so does a ``deadline`` passed between
    two chunks (each read waits at most what was left of it when the stream opened).
    """
    client = _client(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, deadline=deadline)
    arguments = _completion_arguments(model, messages, response_format, max_output_tokens, temperature)
    arguments.update(stream=True, stream_options={"include_usage": True})
    started = time.perf_counter()
    try:
        stream = client.post(
            _CHAT_PATH, body=arguments, cast_to=ChatCompletion, stream=True, stream_cls=Stream[ChatCompletionChunk]
        )
    except openai.APIError as error:
        raise _classified(error, latency_ms=(time.perf_counter() - started) * 1000, api_key=api_key) from None
    deltas = _deltas(stream, model=model, started=started, api_key=api_key, deadline=deadline)
    return _redacted_stream(deltas, api_key) if api_key else deltas


def _deltas(stream, *, model: str, started: float, api_key: str, deadline: float | None) -> Iterator[str | StreamEnd]:
    input_tokens = output_tokens = 0
    answered_by = model
    try:
        with stream:
            for chunk in stream:
                if deadline is not None and time.monotonic() > deadline:
                    raise _deadline_passed("deadline passed mid-stream", started=started)
                answered_by = chunk.model or answered_by
                if chunk.usage is not None:
                    input_tokens = chunk.usage.prompt_tokens or 0
                    output_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or ():
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
    except openai.APIError as error:
        raise _classified(error, latency_ms=(time.perf_counter() - started) * 1000, api_key=api_key) from None
    except (ValueError, OSError) as error:  # a stream cut or garbled mid-way
        raise _broken(error, started=started) from None
    yield StreamEnd(
        model=answered_by,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def _redacted(text: str, api_key: str) -> str:
    return text.replace(api_key, REDACTED) if api_key and api_key in text else text


def _redacted_stream(deltas: Iterator[str | StreamEnd], api_key: str) -> Iterator[str | StreamEnd]:
    """The deltas with the key replaced, even when it is split across deltas: the last
    len(key) - 1 characters are held back until the next delta shows they do not start it."""
    held = ""
    keep = len(api_key) - 1
    try:
        for piece in deltas:
            if isinstance(piece, StreamEnd):
                if held:
                    yield held
                    held = ""
                yield piece
                continue
            held = (held + piece).replace(api_key, REDACTED)
            if len(held) > keep:
                cut = len(held) - keep
                yield held[:cut]
                held = held[cut:]
        if held:
            yield held
    finally:
        deltas.close()  # closes the HTTP response when the caller stops early


def list_models(*, base_url: str, api_key: str, timeout: float) -> list[str]:
    """The model ids the provider lists at /v1/models."""
    client = client_for(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
    try:
        return sorted(model.id for model in client.models.list())
    except openai.APIError as error:
        raise _classified(error, latency_ms=0.0, api_key=api_key) from None


def _classified(error: openai.APIError, *, latency_ms: float, api_key: str) -> ProviderCallFailed:
    if isinstance(error, openai.APITimeoutError):
        kind = "timeout"
    elif isinstance(error, openai.APIConnectionError):
        kind = "connection"
    elif isinstance(error, openai.RateLimitError):
        kind = "rate_limited"
    elif isinstance(error, openai.APIStatusError) and error.status_code >= 500:
        kind = "server_error"
    elif isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
        kind = "auth"
    elif isinstance(error, openai.NotFoundError):
        kind = "unknown_model"
    elif isinstance(error, openai.APIResponseValidationError):
        kind = "malformed_response"
    else:
        kind = "bad_request"
    message = str(error)
    if api_key:
        message = message.replace(api_key, "[redacted]")
    status = getattr(error, "status_code", None)
    prefix = f"HTTP {status}: " if status else ""
    return ProviderCallFailed(
        f"{prefix}{message[:400]}",
        kind=kind,
        error_class=type(error).__name__,
        latency_ms=latency_ms,
    )


def _broken(error: Exception, *, started: float) -> ProviderCallFailed:
    return ProviderCallFailed(
        f"unreadable response ({type(error).__name__})",
        kind="malformed_response",
        error_class=type(error).__name__,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
