"""The model gateway: callers name a route, the gateway picks the model and records the call.

One request walks its plan (canary arm if the routing key falls on it, then the route's
chain). Each deployment gets one SDK call, inside which the SDK retries 408/409/429/5xx,
timeouts and connection errors itself, honouring Retry-After, up to the provider's
max_retries (llm.config.DEFAULT_MAX_RETRIES by default). The gateway never retries the same
deployment: when the SDK gives up, or at once for errors a retry cannot fix (unknown model,
bad key, bad request), it moves to the next deployment. So HTTP attempts per request are at
most Σ(max_retries + 1) over the chain — added, never multiplied. Every attempt, skipped ones
included, is one LLMCall row.

A request with ``deadline_seconds`` (the storefront's re-rank) answers within it: each call's
timeout is what is left of it and the SDK does not retry (a retry would not fit), a
deployment reached after the deadline is skipped, and a stream stops at the deadline.
A deployment without a known price is never called (docs/providers.md, "Seed prices").
"""

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache

from llm import breaker, budgets, canary, concurrency, config, routing
from llm.exceptions import BudgetExceeded, PriceUnknown, ProviderUnavailable, RouteNotConfigured
from llm.models import LLMCall
from llm.pricing import cost_usd
from llm.providers import openai_compatible
from llm.types import ChatRequest, ChatResult

logger = logging.getLogger(__name__)

NOT_BREAKER_FAILURES = {"bad_request"}  # the request's fault, not the deployment's
OVER_BUDGET = "over budget"
DEADLINE_PASSED = "deadline passed"
NO_PRICE = "no price set: staff must set one (admin, Model deployments) before it is called"
PROBE_ROUTE = "check-provider"  # where check_provider's probe calls are logged


def is_configured(*, route: str) -> bool:
    """Whether ``route`` has at least one deployment it may call: with credentials and a price.

    Like a missing key, a missing price leaves the route to the caller's offline path (tagging's
    local analyser), never to a call recorded at $0; `routing status` and the admin flag it.
    """
    route_config = config.route_config(route)
    if not route_config.enabled:
        return False
    deployments = [*route_config.chain, *([route_config.canary] if route_config.canary else [])]
    return any(deployment.provider.api_key() and deployment.price is not None for deployment in deployments)


def primary_model(*, route: str) -> str:
    """The model a request on ``route`` goes to first when no canary or tier override applies."""
    return _primary(config.route_config(route)).model


def estimate_cost(*, route: str, input_tokens: int, output_tokens: int) -> Decimal:
    """What that usage would cost at the price of the model a request on ``route`` goes to first
    (models without a price are skipped, so never priced at zero). Raises PriceUnknown when no
    model of the route has a price."""
    route_config = config.route_config(route)
    _primary(route_config)  # RouteNotConfigured first: no model at all is a different problem
    priced = _first_priced(routing.plan(route_config, routing_key="", tier=None, needs_vision=False))
    if priced is None:
        raise PriceUnknown(f"route {route}: no model has a price; set one in the admin (Model deployments)")
    return cost_usd(price=priced.price, input_tokens=input_tokens, output_tokens=output_tokens)


@dataclass
class _Plan:
    route: config.RouteConfig
    steps: list[routing.Step]
    state: dict
    tier_reason: str
    downgrade_reason: str
    input_tokens: int
    output_tokens: int
    deadline: float | None = None  # time.monotonic() by which the request must answer

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


@dataclass
class _Attempt:
    """One step of one request, with what its bookkeeping needs."""

    request: ChatRequest
    plan: _Plan
    step: routing.Step
    number: int
    request_id: uuid.UUID
    failures: list[str]
    reservation: budgets.Reservation = budgets.NO_RESERVATION

    @property
    def deployment(self) -> config.DeploymentConfig:
        return self.step.deployment


def complete(request: ChatRequest) -> ChatResult:
    """Send ``request`` down its route and return the first good answer.

    Raises BudgetExceeded (over a cap, refusing), RouteNotConfigured, or ProviderUnavailable
    when no deployment answered. Every attempt is in LLMCall.
    """
    for attempt in _attempts(request):
        deployment = attempt.deployment
        try:
            with _slot(deployment, attempt.plan):
                response = openai_compatible.chat(**_call_arguments(request, deployment, attempt.plan))
        except concurrency.ProviderSaturated:
            _record_skip(attempt, why="saturated")
            continue
        except openai_compatible.ProviderCallFailed as failure:
            _record_failure(attempt, failure)
            continue
        if request.validate is not None:
            try:
                request.validate(response.text)
            except ValueError as refusal:
                _record_unusable(attempt, response, refusal)
                continue
        return _succeeded(
            attempt,
            text=response.text,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            latency_ms=response.latency_ms,
        )
    raise AssertionError("unreachable: _attempts raises once the plan is exhausted")


def stream(request: ChatRequest) -> Iterator[str]:
    """Text deltas of the first deployment that starts answering; logs the call when finished.

    Falls back (and raises GatewayError when nothing answers) before the first delta; a
    failure after deltas were sent raises ProviderUnavailable, since the caller has them.
    """
    for attempt in _attempts(request):
        deployment = attempt.deployment
        with ExitStack() as stack:
            try:
                stack.enter_context(_slot(deployment, attempt.plan))
                pieces = openai_compatible.chat_stream(**_call_arguments(request, deployment, attempt.plan))
                stack.callback(pieces.close)  # closes the HTTP response if the caller stops early
                piece = next(pieces)
            except concurrency.ProviderSaturated:
                _record_skip(attempt, why="saturated")
                continue
            except openai_compatible.ProviderCallFailed as failure:
                _record_failure(attempt, failure)
                continue
            # A caller that stops reading early releases the budget hold; the call goes unlogged.
            stack.callback(_settle, attempt, Decimal(0))
            try:
                while not isinstance(piece, openai_compatible.StreamEnd):
                    yield piece
                    piece = next(pieces)
            except openai_compatible.ProviderCallFailed as failure:
                _record_failure(attempt, failure)
                raise ProviderUnavailable(f"route {request.route}: {deployment.model} broke off mid-answer") from None
            _succeeded(
                attempt,
                text="",
                input_tokens=piece.input_tokens,
                output_tokens=piece.output_tokens,
                latency_ms=piece.latency_ms,
            )
            return


def probe(*, deployment: config.DeploymentConfig) -> ChatResult:
    """One tiny call to ``deployment`` (check_provider), logged in LLMCall under PROBE_ROUTE at
    the deployment's price, outside every route's budget and circuits.

    Raises PriceUnknown for a deployment without a price, ProviderUnavailable when it fails.
    """
    if deployment.price is None:
        raise PriceUnknown(f"{deployment.key} has no price: {NO_PRICE}")
    request = ChatRequest(
        route=PROBE_ROUTE, messages=[{"role": "user", "content": "Reply with the word ok."}], max_output_tokens=5
    )
    plan = _Plan(
        route=config.RouteConfig(name=PROBE_ROUTE, chain=(deployment,)),
        steps=[],
        state={},
        tier_reason="",
        downgrade_reason="",
        input_tokens=0,
        output_tokens=0,
    )
    attempt = _Attempt(request, plan, routing.Step(deployment, LLMCall.Arm.PRIMARY), 1, uuid.uuid4(), [])
    arguments = {**_call_arguments(request, deployment, plan), "max_retries": 0}
    try:
        response = openai_compatible.chat(**arguments)
    except openai_compatible.ProviderCallFailed as failure:
        _log(
            attempt,
            latency_ms=failure.latency_ms,
            outcome=LLMCall.Outcome.ERROR,
            error_class=failure.error_class,
            error_message=str(failure)[:500],
        )
        raise ProviderUnavailable(f"{deployment.model}: {failure}") from None
    return _succeeded(
        attempt,
        text=response.text,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        latency_ms=response.latency_ms,
    )


def _attempts(request: ChatRequest) -> Iterator[_Attempt]:
    """The request's steps that may be called, each holding its budget reservation; skips are
    recorded here. Raises the right GatewayError when the plan runs out."""
    plan = _plan(request)
    request_id = uuid.uuid4()
    failures: list[str] = []
    for number, step in enumerate(plan.steps, start=1):
        attempt = _Attempt(request, plan, step, number, request_id, failures)
        why = _skip_reason(plan, step)
        if not why:
            reservation = budgets.reserve(
                plan.route,
                price=step.deployment.price,
                input_tokens=plan.input_tokens,
                output_tokens=plan.output_tokens,
                enforce=not plan.downgrade_reason,
                state=plan.state,
            )
            if isinstance(reservation, budgets.Reservation):
                attempt.reservation = reservation
                yield attempt
                continue
            why = OVER_BUDGET
        _record_skip(attempt, why=why)
    if failures and all(failure.endswith(f": {OVER_BUDGET}") for failure in failures):
        raise BudgetExceeded(f"route {request.route}: every model would break the budget")
    raise ProviderUnavailable(f"route {request.route}: no model answered ({'; '.join(failures) or 'no model'})")


def _slot(deployment: config.DeploymentConfig, plan: _Plan):
    provider = deployment.provider
    return concurrency.slot(
        provider=provider.name, limit=provider.max_concurrency, wait_seconds=_timeout(provider, plan)
    )


def _timeout(provider: config.ProviderConfig, plan: _Plan) -> float:
    """The provider's timeout, cut to what is left of the request's deadline."""
    remaining = plan.remaining()
    timeout = provider.resolved_timeout()
    return timeout if remaining is None else max(0.001, min(timeout, remaining))


def _call_arguments(request: ChatRequest, deployment: config.DeploymentConfig, plan: _Plan) -> dict:
    provider = deployment.provider
    return {
        "base_url": provider.resolved_base_url(),
        "api_key": provider.api_key(),
        "model": deployment.model,
        "messages": request.messages,
        "timeout": provider.resolved_timeout(),
        "max_retries": provider.resolved_max_retries(),
        "deadline": plan.deadline,
        "response_format": openai_compatible.response_format_for(
            schema=request.response_schema,
            name=request.schema_name,
            supports_json_schema=deployment.supports_json_schema,
        ),
        "max_output_tokens": request.max_output_tokens,
        "temperature": request.temperature,
    }


def _settle(attempt: _Attempt, cost: Decimal) -> None:
    """Turn the attempt's budget hold into its real cost, once."""
    budgets.settle(attempt.reservation, cost)
    attempt.reservation = budgets.NO_RESERVATION


# --- planning -------------------------------------------------------------------------------
def _primary(route_config: config.RouteConfig) -> config.DeploymentConfig:
    steps = routing.plan(route_config, routing_key="", tier=None, needs_vision=False)
    if not route_config.enabled or not steps:
        raise RouteNotConfigured(f"route {route_config.name} has no enabled model")
    return steps[0].deployment


def _plan(request: ChatRequest) -> _Plan:
    route_config = config.route_config(request.route)
    if not route_config.enabled:
        raise RouteNotConfigured(f"route {request.route} is disabled")
    steps = routing.plan(
        route_config, routing_key=request.routing_key, tier=request.tier, needs_vision=request.needs_vision
    )
    if not steps:
        raise RouteNotConfigured(f"route {request.route} has no enabled model for this request")
    capped = route_config.daily_budget_usd is not None or route_config.monthly_budget_usd is not None
    keys = [key for step in steps for key in breaker.state_keys(route_config.name, step.deployment.key)]
    if capped:
        keys.extend(budgets.period_keys(route_config.name))
    # One round trip for every piece of shared state this request needs.
    state = cache.get_many(keys)
    input_tokens, output_tokens = budgets.estimate_tokens(request.messages, request.max_output_tokens)
    tier_reason = request.tier_reason or ("requested" if request.tier else "")
    deadline = None if request.deadline_seconds is None else time.monotonic() + request.deadline_seconds
    plan = _Plan(route_config, steps, state, tier_reason, "", input_tokens, output_tokens, deadline)
    if capped:
        _apply_budget(request, plan)
    return plan


def _apply_budget(request: ChatRequest, plan: _Plan) -> None:
    route_config = plan.route
    first = _first_priced(plan.steps)
    if first is None:
        return  # every model will be skipped for want of a price: nothing can be spent
    over = budgets.over_cap(
        route_config,
        price=first.price,
        input_tokens=plan.input_tokens,
        output_tokens=plan.output_tokens,
        state=plan.state,
    )
    if over is None:
        return
    downgraded = []
    if route_config.over_budget == "downgrade":
        downgraded = routing.plan(
            route_config,
            routing_key=request.routing_key,
            tier="budget",
            needs_vision=request.needs_vision,
            downgrade=True,
        )
    if not downgraded:
        LLMCall.objects.create(
            request_id=uuid.uuid4(),
            route=request.route,
            provider=first.provider.name,
            model=first.model,
            tier=first.tier,
            outcome=LLMCall.Outcome.SKIPPED,
            error_class=BudgetExceeded.__name__,
            error_message=str(over)[:500],
            metadata=request.metadata,
        )
        raise BudgetExceeded(f"route {request.route}: {over}")
    logger.warning("route %s over its %s budget: downgraded to the budget tier", request.route, over.period)
    plan.steps = downgraded
    plan.downgrade_reason = f"over {over.period} budget: downgraded to budget tier"
    plan.tier_reason = plan.downgrade_reason
    keys = [key for step in downgraded for key in breaker.state_keys(route_config.name, step.deployment.key)]
    plan.state.update(cache.get_many(keys))


def _skip_reason(plan: _Plan, step: routing.Step) -> str:
    deployment = step.deployment
    if deployment.price is None:
        return NO_PRICE
    if breaker.is_open(plan.route.name, deployment.key, state=plan.state):
        return "circuit open"
    if not deployment.provider.api_key():
        return f"no key in {deployment.provider.api_key_env}"
    remaining = plan.remaining()
    if remaining is not None and remaining <= 0:
        return DEADLINE_PASSED
    return ""


def _first_priced(steps: list[routing.Step]) -> config.DeploymentConfig | None:
    return next((step.deployment for step in steps if step.deployment.price is not None), None)


# --- bookkeeping ----------------------------------------------------------------------------
def _fallback_reason(plan: _Plan, failures: list[str]) -> str:
    reasons = ([plan.downgrade_reason] if plan.downgrade_reason else []) + failures
    return "; ".join(reasons)[:200]


def _log(attempt: _Attempt, **fields) -> LLMCall:
    deployment = attempt.deployment
    call = LLMCall(
        request_id=attempt.request_id,
        route=attempt.request.route,
        provider=deployment.provider.name,
        model=deployment.model,
        tier=deployment.tier,
        tier_reason=attempt.plan.tier_reason[:200],
        arm=attempt.step.arm,
        attempt=attempt.number,
        fallback_reason=_fallback_reason(attempt.plan, attempt.failures),
        metadata=attempt.request.metadata,
        **fields,
    )
    call.save(force_insert=True)
    return call


def _record_skip(attempt: _Attempt, *, why: str) -> None:
    _settle(attempt, Decimal(0))
    _log(attempt, outcome=LLMCall.Outcome.SKIPPED, error_message=why)
    attempt.failures.append(f"{attempt.deployment.model}: {why}")


def _record_failure(attempt: _Attempt, failure: openai_compatible.ProviderCallFailed) -> None:
    _settle(attempt, Decimal(0))
    deployment = attempt.deployment
    outcome = {
        "timeout": LLMCall.Outcome.TIMEOUT,
        "rate_limited": LLMCall.Outcome.RATE_LIMITED,
    }.get(failure.kind, LLMCall.Outcome.ERROR)
    _log(
        attempt,
        latency_ms=failure.latency_ms,
        outcome=outcome,
        error_class=failure.error_class,
        error_message=str(failure)[:500],
    )
    logger.warning(
        "route %s: %s failed (%s, %s), trying the next model",
        attempt.request.route,
        deployment.model,
        failure.kind,
        failure.error_class,
    )
    attempt.failures.append(f"{deployment.model}: {failure.kind}")
    _count_failure(attempt, opens_circuit=failure.kind not in NOT_BREAKER_FAILURES)


def _record_unusable(attempt: _Attempt, response: openai_compatible.ProviderResponse, refusal: ValueError) -> None:
    """An answer the caller refused: billed like any answer, counted like any failure (breaker, canary)."""
    deployment = attempt.deployment
    cost = cost_usd(price=deployment.price, input_tokens=response.input_tokens, output_tokens=response.output_tokens)
    _settle(attempt, cost)
    _log(
        attempt,
        latency_ms=response.latency_ms,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cost_usd=cost,
        outcome=LLMCall.Outcome.UNUSABLE,
        error_class=type(refusal).__name__,
        error_message=str(refusal)[:500],
    )
    logger.warning("route %s: %s answered unusably, trying the next model", attempt.request.route, deployment.model)
    attempt.failures.append(f"{deployment.model}: unusable answer")
    _count_failure(attempt, opens_circuit=True)


def _count_failure(attempt: _Attempt, *, opens_circuit: bool) -> None:
    """A failed attempt counts towards its route's circuit for that deployment and, on the canary
    arm, towards the canary's error rate."""
    deployment, route = attempt.deployment, attempt.plan.route
    opened = False
    if opens_circuit:
        opened = breaker.record_failure(
            route.name, deployment.key, failures=route.breaker_failures, cooldown_seconds=route.breaker_cooldown_seconds
        )
        if opened:
            logger.warning(
                "circuit opened for %s on route %s for %ss", deployment.key, route.name, route.breaker_cooldown_seconds
            )
    if attempt.step.arm == LLMCall.Arm.CANARY:
        canary.evaluate(route, circuit_opened=opened)


def _succeeded(attempt: _Attempt, *, text: str, input_tokens: int, output_tokens: int, latency_ms: float) -> ChatResult:
    deployment = attempt.deployment
    cost = cost_usd(price=deployment.price, input_tokens=input_tokens, output_tokens=output_tokens)
    _settle(attempt, cost)
    call = _log(
        attempt,
        latency_ms=latency_ms,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        outcome=LLMCall.Outcome.SUCCESS,
    )
    breaker.record_success(attempt.plan.route.name, deployment.key, state=attempt.plan.state)
    if attempt.step.arm == LLMCall.Arm.CANARY:
        canary.evaluate(attempt.plan.route)
    return ChatResult(
        text=text,
        route=attempt.request.route,
        provider=deployment.provider.name,
        model=deployment.model,
        arm=attempt.step.arm,
        tier=deployment.tier,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        latency_ms=latency_ms,
        attempts=attempt.number,
        call_id=call.pk,
        request_id=str(attempt.request_id),
        fallback_reason=_fallback_reason(attempt.plan, attempt.failures),
    )
