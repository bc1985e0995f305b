"""Optional re-ranking of session candidates by the gateway's ``recommendations`` route.

The fast, tag-based order is always computed first; the model only reorders it and writes a
short reason per item. Answers are cached by their normalised inputs. Any model problem — an
error, a provider slower than the deadline, an exhausted budget, an answer that is not a
ranking of the candidates given — leaves the fast order in place with a stable reason code
(``FallbackReason``), so the storefront never sees a model failure as a 5xx, nor model text.

The whole model part answers within DEADLINE_SECONDS (fallbacks included,
see llm.gateway). A provider that failed is remembered for FAILURE_MEMORY_SECONDS, shared by
every process through the cache: while it is, re-ranks fall back at once, so a dead or hanging
provider costs one wait per window, not one per request.
"""

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import TextChoices

from llm import gateway
from llm.complexity import RequestFeatures, choose_tier
from llm.exceptions import BudgetExceeded, GatewayError, ProviderUnavailable
from llm.types import ChatRequest
from recommendations.freshness import catalog_version
from recommendations.selectors import Candidate

logger = logging.getLogger(__name__)

ROUTE = "recommendations"
PROMPT_VERSION = "rerank-2"
CACHE_SECONDS = 3600
MAX_REASON_CHARS = 200
MAX_CONTEXT_CHARS = 200  # a hint for the model, not a prompt: longer text is refused (400)
FAILURE_MEMORY_SECONDS = 30
# The storefront waits at most this long for the model, SDK retries and fallbacks included; then
# the tag-based order comes back with DEADLINE_PASSED.
DEADLINE_SECONDS = 1.5
_FAILED_KEY = f"recommendations:rerank-failed:{ROUTE}"


class FallbackReason(TextChoices):
    """Why the fast order was returned: a fixed code the storefront may branch on or show."""

    ANONYMOUS_CLIENT = "anonymous_client", "Re-ranking is for authenticated clients (SHELFSIGHT_RERANK_ANONYMOUS)"
    NO_CANDIDATES = "no_candidates", "Nothing to re-rank"
    BUDGET_SPENT = "budget_spent", "The route's spend cap is reached"
    PROVIDER_UNAVAILABLE = "provider_unavailable", "No model answered (or one failed within the last 30 s)"
    DEADLINE_PASSED = "deadline_passed", "No answer within the re-rank deadline"
    ANSWER_UNUSABLE = "answer_unusable", "The model's answer was not a ranking of the candidates"
    NOT_CONFIGURED = "not_configured", "The recommendations route has no model that can be called"


RANKING_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["sku", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["items"],
    "additionalProperties": False,
}


class MalformedRanking(ValueError):
    """The model's answer is not an order of the candidates it was given."""


@dataclass
class RerankOutcome:
    order: list[tuple[str, str]] = field(default_factory=list)  # (sku, reason), best first
    status: str = "fallback"  # reranked / cached / fallback
    fallback_reason: str = ""
    model: str = ""
    tier: str = ""


def _describe(candidate: Candidate) -> dict:
    product = candidate.product
    return {
        "sku": product.sku,
        "title": product.title,
        "category": product.category.path if product.category_id else "",
        "price": f"{product.price} {product.currency}",
        "shared_tags": list(candidate.shared_tags),
    }


def _messages(*, viewed_titles: list[str], candidates: list[Candidate], context: str, streaming: bool) -> list[dict]:
    answer_shape = (
        "Answer one line per product, best first, exactly `SKU | reason`, nothing else."
        if streaming
        else 'Answer JSON {"items": [{"sku": ..., "reason": ...}]}, best first.'
    )
    system = (
        "You order product recommendations for a shopper. Use only the SKUs given. "
        f"Each reason is one short sentence (under {MAX_REASON_CHARS} characters) a shopper would find useful. "
        + answer_shape
    )
    user = json.dumps(
        {
            "viewed": viewed_titles,
            "shopper_context": context,
            "candidates": [_describe(candidate) for candidate in candidates],
        },
        ensure_ascii=False,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def normalised_context(context: str) -> str:
    """The shopper context as the model sees it and the cache keys it: case and spacing folded,
    so "Gift  under $50" and "gift under $50 " are one answer, not two model calls."""
    return " ".join(context.split()).casefold()


def cache_key(*, viewed_skus: list[str], context: str, limit: int, streaming: bool) -> str:
    """The cache key of a re-rank request, computed from the request alone so a hit costs no query.

    The catalog version stands in for the candidates: any tag, product or neighbour-list change
    moves it, so an answer is never served for candidates that have changed since. Viewed SKUs
    count as a set (the candidates do not depend on their order or repeats) and the context
    is normalised, so trivial variations of a request do not buy a new model call.
    """
    inputs = json.dumps(
        [PROMPT_VERSION, catalog_version(), streaming, sorted(set(viewed_skus)), normalised_context(context), limit],
        ensure_ascii=False,
    )
    return "recommendations:rerank:" + hashlib.sha256(inputs.encode()).hexdigest()


def allowed_for(user) -> bool:
    """Whether this client may spend model budget on a re-rank: authenticated clients (a
    storefront's token), and anonymous ones only with SHELFSIGHT_RERANK_ANONYMOUS."""
    return bool(user and user.is_authenticated) or settings.SHELFSIGHT_RERANK_ANONYMOUS


def clock() -> float:
    """Wall-clock seconds, the same in every process (tests move it instead of sleeping)."""
    return time.time()


def recently_failed() -> bool:
    """Whether a re-rank found no model answering within the last FAILURE_MEMORY_SECONDS."""
    until = cache.get(_FAILED_KEY)
    return until is not None and until > clock()


def _remember_failure() -> None:
    cache.set(_FAILED_KEY, clock() + FAILURE_MEMORY_SECONDS, FAILURE_MEMORY_SECONDS)


def cached_answer(*, key: str) -> dict | None:
    return cache.get(key)


def remember_answer(*, key: str, answer: dict) -> None:
    cache.set(key, answer, CACHE_SECONDS)


def parse_ranking(text: str, *, allowed_skus: list[str]) -> list[tuple[str, str]]:
    """Validate a JSON answer into (sku, reason) pairs; unknown or repeated SKUs make it nonsense."""
    try:
        items = json.loads(text)["items"]
    except (ValueError, TypeError, KeyError) as error:
        raise MalformedRanking(f"answer is not the JSON asked for: {error}") from None
    if not isinstance(items, list):
        raise MalformedRanking("`items` is not a list")
    return _checked([(item.get("sku"), item.get("reason")) for item in items if isinstance(item, dict)], allowed_skus)


def parse_line(line: str, *, allowed_skus: set[str]) -> tuple[str, str] | None:
    """One `SKU | reason` line of a streamed answer, or None when the line is not one."""
    sku, separator, reason = line.strip().strip("`").partition("|")
    sku, reason = sku.strip(), reason.strip()
    if not separator or sku not in allowed_skus or not reason:
        return None
    return sku, reason[:MAX_REASON_CHARS]


def _checked(pairs: list[tuple], allowed_skus: list[str]) -> list[tuple[str, str]]:
    allowed, seen, order = set(allowed_skus), set(), []
    for sku, reason in pairs:
        if not isinstance(sku, str) or sku not in allowed:
            raise MalformedRanking(f"unknown SKU {sku!r} in the answer")
        if sku in seen:
            raise MalformedRanking(f"SKU {sku!r} ranked twice")
        if not isinstance(reason, str) or not reason.strip():
            raise MalformedRanking(f"no reason for {sku!r}")
        seen.add(sku)
        order.append((sku, reason.strip()[:MAX_REASON_CHARS]))
    if not order:
        raise MalformedRanking("empty ranking")
    return order


def _request(
    *, session_id: str, viewed_titles: list[str], candidates: list[Candidate], context: str, streaming: bool
) -> ChatRequest:
    context = normalised_context(context)
    messages = _messages(viewed_titles=viewed_titles, candidates=candidates, context=context, streaming=streaming)
    features = RequestFeatures(
        candidate_count=len(candidates),
        has_context=bool(context),
        context_chars=len(context),
        wants_reasons=True,
        prompt_chars=sum(len(message["content"]) for message in messages),
    )
    choice = choose_tier(features)
    return ChatRequest(
        deadline_seconds=DEADLINE_SECONDS,
        route=ROUTE,
        messages=messages,
        response_schema=None if streaming else RANKING_SCHEMA,
        schema_name="ranking",
        routing_key=session_id,
        tier=choice.tier,
        tier_reason=choice.reason,
        max_output_tokens=60 * len(candidates) + 50,
        metadata={"session_id": session_id, "candidates": len(candidates)},
    )


def rerank(*, session_id: str, viewed: list, candidates: list[Candidate], context: str) -> RerankOutcome:
    """The model's order of ``candidates`` with reasons (callers cache it: see ``cache_key``)."""
    if not candidates:
        return RerankOutcome(fallback_reason=FallbackReason.NO_CANDIDATES)
    if recently_failed():
        return RerankOutcome(fallback_reason=FallbackReason.PROVIDER_UNAVAILABLE)
    request = _request(
        session_id=session_id,
        viewed_titles=[product.title for product in viewed],
        candidates=candidates,
        context=context,
        streaming=False,
    )
    started = time.monotonic()
    try:
        result = gateway.complete(request)
        order = parse_ranking(result.text, allowed_skus=[c.product.sku for c in candidates])
    except GatewayError as error:
        logger.warning("re-rank fell back: %s: %s", type(error).__name__, error)
        return RerankOutcome(fallback_reason=_failed(error, started=started), tier=request.tier or "")
    except MalformedRanking as error:
        logger.warning("re-rank fell back: malformed answer: %s", error)
        return RerankOutcome(fallback_reason=FallbackReason.ANSWER_UNUSABLE, tier=request.tier or "")
    return RerankOutcome(order=order, status="reranked", model=result.model, tier=result.tier or request.tier or "")


def stream_rerank(
    *, session_id: str, viewed: list, candidates: list[Candidate], context: str, key: str, fast_items: list[dict]
) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs: ``item`` per ranked product as soon as its line is complete, then ``done``.

    A model problem before any item yields ``fallback`` with the fast order's items; one after
    some items ends the stream with ``done`` saying the order is partial. A complete answer is
    cached under ``key`` with ``fast_items`` (the ``candidates`` event the caller sent before),
    so ``replayed_stream`` can answer a repeat without computing the candidates again.
    """
    if not candidates or recently_failed():
        reason = FallbackReason.PROVIDER_UNAVAILABLE if candidates else FallbackReason.NO_CANDIDATES
        yield "done", {"reranked": False, "status": "fallback", "fallback_reason": reason.value}
        return
    request = _request(
        session_id=session_id,
        viewed_titles=[product.title for product in viewed],
        candidates=candidates,
        context=context,
        streaming=True,
    )
    allowed = {candidate.product.sku for candidate in candidates}
    order: list[tuple[str, str]] = []
    buffer = ""
    reason = ""
    started = time.monotonic()
    try:
        for delta in gateway.stream(request):
            buffer += delta
            *lines, buffer = buffer.split("\n")
            yield from _stream_lines(lines, allowed, order)
        yield from _stream_lines([buffer], allowed, order)
    except GatewayError as error:
        logger.warning("streamed re-rank fell back: %s: %s", type(error).__name__, error)
        reason = _failed(error, started=started).value
    if not order:
        reason = reason or FallbackReason.ANSWER_UNUSABLE.value
        yield "done", {"reranked": False, "status": "fallback", "fallback_reason": reason}
        return
    # A stream does not report which deployment answered; the call log (LLMCall) has it.
    meta = {"tier": request.tier or ""}
    if not reason:
        remember_answer(key=key, answer={"candidates": fast_items, "order": order, "meta": meta})
    yield (
        "done",
        {"reranked": True, "status": "reranked" if not reason else "partial", "fallback_reason": reason, **meta},
    )


def replayed_stream(answer: dict | None) -> list[tuple[str, dict]] | None:
    """The events of a cached streamed re-rank (``candidates`` first), or None when ``answer`` is not one."""
    if answer is None or "candidates" not in answer:
        return None
    events = [("candidates", {"items": answer["candidates"]})]
    events += [
        ("item", {"rank": rank, "sku": sku, "reason": reason})
        for rank, (sku, reason) in enumerate(answer["order"], start=1)
    ]
    events.append(("done", {"reranked": True, "status": "cached", **answer["meta"]}))
    return events


def _failed(error: GatewayError, *, started: float) -> FallbackReason:
    """The code for a failed gateway request; a provider that failed is remembered for a while.

    Only the code reaches the storefront: the error's text (model names, spend figures,
    whatever a provider answered) stays in the log and the call log.
    """
    if isinstance(error, BudgetExceeded):
        return FallbackReason.BUDGET_SPENT  # no wait was spent, and staff may raise the cap at once
    if not isinstance(error, ProviderUnavailable):
        return FallbackReason.NOT_CONFIGURED
    _remember_failure()
    if time.monotonic() - started >= DEADLINE_SECONDS:
        return FallbackReason.DEADLINE_PASSED
    return FallbackReason.PROVIDER_UNAVAILABLE


def _stream_lines(lines: list[str], allowed: set[str], order: list[tuple[str, str]]) -> Iterator[tuple[str, dict]]:
    for line in lines:
        parsed = parse_line(line, allowed_skus=allowed)
        if parsed is None or parsed[0] in {sku for sku, _ in order}:
            continue
        order.append(parsed)
        yield "item", {"rank": len(order), "sku": parsed[0], "reason": parsed[1]}
