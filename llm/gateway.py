"""The model gateway: callers name a route, the gateway picks the model and records the call."""

import uuid

from llm.conf import default_deployment
from llm.exceptions import ProviderUnavailable
from llm.models import LLMCall
from llm.pricing import cost_usd
from llm.providers import openai_compatible
from llm.types import ChatRequest, ChatResult


def is_configured(*, route: str) -> bool:
    """Whether ``route`` has at least one deployment with credentials to call."""
    return bool(default_deployment().api_key)


def complete(request: ChatRequest) -> ChatResult:
    """Send ``request`` down its route and return the first good answer.

    Raises ProviderUnavailable when no deployment answered. Every attempt is in LLMCall.
    """
    deployment = default_deployment()
    request_id = uuid.uuid4()
    response_format = openai_compatible.response_format_for(
        schema=request.response_schema,
        name=request.schema_name,
        supports_json_schema=deployment.supports_json_schema,
    )
    try:
        response = openai_compatible.chat(
            base_url=deployment.base_url,
            api_key=deployment.api_key,
            model=deployment.model,
            messages=request.messages,
            timeout=deployment.timeout,
            max_retries=deployment.max_retries,
            response_format=response_format,
            max_output_tokens=request.max_output_tokens,
            temperature=request.temperature,
        )
    except openai_compatible.ProviderCallFailed as failure:
        LLMCall.objects.create(
            request_id=request_id,
            route=request.route,
            provider=deployment.provider,
            model=deployment.model,
            latency_ms=failure.latency_ms,
            outcome=LLMCall.Outcome.TIMEOUT if failure.kind == "timeout" else LLMCall.Outcome.ERROR,
            error_class=failure.error_class,
            error_message=str(failure)[:500],
            metadata=request.metadata,
        )
        raise ProviderUnavailable(f"{deployment.model}: {failure}") from None
    cost = cost_usd(price=deployment.price, input_tokens=response.input_tokens, output_tokens=response.output_tokens)
    call = LLMCall.objects.create(
        request_id=request_id,
        route=request.route,
        provider=deployment.provider,
        model=deployment.model,
        latency_ms=response.latency_ms,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cost_usd=cost,
        outcome=LLMCall.Outcome.SUCCESS,
        metadata=request.metadata,
    )
    return ChatResult(
        text=response.text,
        route=request.route,
        provider=deployment.provider,
        model=deployment.model,
        arm=LLMCall.Arm.PRIMARY,
        tier="",
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cost_usd=cost,
        latency_ms=response.latency_ms,
        attempts=1,
        call_id=call.pk,
        request_id=str(request_id),
    )
