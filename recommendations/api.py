"""DRF endpoints: similar products and personalised picks (optionally re-ranked, optionally streamed)."""

import hashlib
import itertools
import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.schema import BAD_REQUEST, NOT_FOUND, READ_ERRORS
from catalog.api.serializers import ProductSummarySerializer
from recommendations import freshness, reranking, selectors

MAX_SIMILAR = 20
RERANK_CANDIDATES = 10
# Answers are keyed on the catalog version too (recommendations.freshness), so any tag or
# product change is seen at once; the timeout only bounds the memory they take.
SIMILAR_CACHE_SECONDS = 600
# Built once: fields are stateless once configured, and this is the storefront's hottest read.
LIMIT_FIELD = serializers.IntegerField(min_value=1, max_value=MAX_SIMILAR)
CREATED_AT_FIELD = serializers.DateTimeField()


class SimilarProductSerializer(ProductSummarySerializer):
    score = serializers.FloatField(help_text="Σ idf of shared applied tags, ×1.5 in the same category.")

    class Meta(ProductSummarySerializer.Meta):
        fields = [*ProductSummarySerializer.Meta.fields, "score"]


class SimilarProductsSerializer(serializers.Serializer):
    sku = serializers.CharField()
    results = SimilarProductSerializer(many=True)


class SimilarProductsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Products most like this one, by shared applied tags (rare tags count more)",
        parameters=[OpenApiParameter("limit", int, description=f"1–{MAX_SIMILAR}, default 10.")],
        responses={200: SimilarProductsSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, **READ_ERRORS},
    )
    def get(self, request: Request, sku: str) -> Response:
        limit = LIMIT_FIELD.run_validation(request.query_params.get("limit", 10))
        key = f"recommendations:similar:{limit}:" + hashlib.sha256(sku.encode()).hexdigest()
        version, body = freshness.cached_for_version(key=key)
        if body is None:
            neighbours = selectors.similar_products_of_sku(sku=sku, limit=limit)
            if neighbours is None:
                raise NotFound()
            body = {"sku": sku, "results": [_similar_row(item) for item in neighbours]}
            freshness.store_for_version(key=key, version=version, value=body, timeout=SIMILAR_CACHE_SECONDS)
        return Response(body)


def _similar_row(item: selectors.SimilarItem) -> dict:
    # The hottest read of the storefront: built by hand (what SimilarProductSerializer
    # documents, checked against the schema in tests) because the serializer costs more
    # than the query.
    return {
        "sku": item.sku,
        "title": item.title,
        "price": f"{item.price:.2f}",
        "currency": item.currency,
        "category": {"name": item.category_name, "path": item.category_path}
        if item.category_path is not None
        else None,
        "status": item.status,
        "created_at": CREATED_AT_FIELD.to_representation(item.created_at),
        "score": item.score,
    }


class RecommendationRequestSerializer(serializers.Serializer):
    session_id = serializers.CharField(max_length=100, help_text="Keeps one session on one model arm.")
    viewed = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=50, help_text="SKUs, most recent last."
    )
    context = serializers.CharField(
        max_length=reranking.MAX_CONTEXT_CHARS,
        required=False,
        default="",
        allow_blank=True,
        help_text='e.g. "browsing electronics, $50–200". Case and spacing do not matter.',
    )
    limit = serializers.IntegerField(min_value=1, max_value=RERANK_CANDIDATES, default=RERANK_CANDIDATES)
    rerank = serializers.BooleanField(
        default=False,
        help_text="Ask the model to reorder and give reasons. Authenticated clients only (a storefront's token), "
        "unless SHELFSIGHT_RERANK_ANONYMOUS is on; otherwise the fast order with `anonymous_client`.",
    )
    stream = serializers.BooleanField(default=False, help_text="Stream re-rank reasons as server-sent events.")


class RecommendedItemSerializer(ProductSummarySerializer):
    score = serializers.FloatField(help_text="Tag-profile score of the fast path.")
    shared_tags = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField(allow_blank=True, help_text="The model's reason; empty when not re-ranked.")

    class Meta(ProductSummarySerializer.Meta):
        fields = [*ProductSummarySerializer.Meta.fields, "score", "shared_tags", "reason"]


class RecommendationResponseSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    items = RecommendedItemSerializer(many=True)
    reranked = serializers.BooleanField(help_text="False when the fast order is returned.")
    rerank_status = serializers.ChoiceField(choices=["not_requested", "reranked", "cached", "fallback"])
    fallback_reason = serializers.ChoiceField(
        choices=reranking.FallbackReason.choices,
        allow_blank=True,
        help_text="Why the fast order was returned (empty when it was not): a fixed code, never model text.",
    )
    model = serializers.CharField(allow_blank=True)
    tier = serializers.CharField(allow_blank=True)


SSE_DESCRIPTION = (
    "With `stream: true`: `text/event-stream`. Events: `candidates` (the fast order, as `items`), "
    "then `item` ({rank, sku, reason}) per re-ranked product, then `done` ({reranked, status, fallback_reason}). "
    "Items come only if the model answers within the re-rank deadline; `status` `partial` means it stopped early."
)
ANSWER = "JSON, or server-sent events. " + SSE_DESCRIPTION
# One server-sent event, as a client reads it off the stream: its name and its JSON data.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["candidates", "item", "done"]},
        "data": {"type": "string", "description": "JSON."},
    },
    "required": ["event", "data"],
}


def _items(candidates: list[selectors.Candidate], reasons: dict[str, str]) -> list[dict]:
    rows = []
    for candidate in candidates:
        product = candidate.product
        product.score, product.shared_tags = candidate.score, list(candidate.shared_tags)
        product.reason = reasons.get(product.sku, "")
        rows.append(product)
    return RecommendedItemSerializer(rows, many=True).data


def _ordered(candidates: list[selectors.Candidate], order: list[tuple[str, str]]) -> list[selectors.Candidate]:
    by_sku = {candidate.product.sku: candidate for candidate in candidates}
    first = [by_sku[sku] for sku, _ in order if sku in by_sku]
    return first + [candidate for candidate in candidates if candidate.product.sku not in dict(order)]


def _event(name: str, data) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


class RecommendationsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Personalised picks for a session; optional model re-rank with reasons",
        request=RecommendationRequestSerializer,
        responses={
            # One 200 with two media types: JSON, or the event stream when the body asks for it.
            (200, "application/json"): OpenApiResponse(RecommendationResponseSerializer, description=ANSWER),
            (200, "text/event-stream"): OpenApiResponse(SSE_EVENT, description=ANSWER),
            400: BAD_REQUEST,
            **READ_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Re-ranked",
                request_only=True,
                value={"session_id": "s-1", "viewed": ["SKU-1"], "context": "gift under $50", "rerank": True},
            )
        ],
    )
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        payload = RecommendationRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if (data["rerank"] or data["stream"]) and not reranking.allowed_for(request.user):
            return self._refused(data)
        key = ""
        if data["rerank"] or data["stream"]:
            key = reranking.cache_key(
                viewed_skus=data["viewed"], context=data["context"], limit=data["limit"], streaming=data["stream"]
            )
        if data["rerank"] or data["stream"]:
            # Answered before any candidate is computed: a repeat costs two cache reads, no query.
            answer = reranking.cached_answer(key=key)
            if data["stream"]:
                replayed = reranking.replayed_stream(answer)
                if replayed is not None:
                    return self._event_stream(iter(replayed))
            elif answer is not None:
                return Response({**answer, "session_id": data["session_id"], "rerank_status": "cached"})
        found = selectors.session_candidates(viewed_skus=data["viewed"], limit=data["limit"])
        arguments = {
            "session_id": data["session_id"],
            "viewed": found.viewed,
            "candidates": found.candidates,
            "context": data["context"],
        }
        if data["stream"]:
            return self._stream(found, {**arguments, "key": key})
        body = {
            "session_id": data["session_id"],
            "items": _items(found.candidates, {}),
            "reranked": False,
            "rerank_status": "not_requested",
            "fallback_reason": "",
            "model": "",
            "tier": "",
        }
        if data["rerank"]:
            outcome = reranking.rerank(**arguments)
            body.update(
                rerank_status=outcome.status,
                reranked=outcome.status != "fallback",
                fallback_reason=outcome.fallback_reason,
                model=outcome.model,
                tier=outcome.tier,
            )
            if body["reranked"]:
                body["items"] = _items(_ordered(found.candidates, outcome.order), dict(outcome.order))
                reranking.remember_answer(key=key, answer=body)
        return Response(body)

    def _refused(self, data: dict) -> Response | StreamingHttpResponse:
        """The fast order for a client that may not spend model budget: no cache read, no model call."""
        found = selectors.session_candidates(viewed_skus=data["viewed"], limit=data["limit"])
        items = _items(found.candidates, {})
        reason = reranking.FallbackReason.ANONYMOUS_CLIENT.value
        if data["stream"]:
            done = {"reranked": False, "status": "fallback", "fallback_reason": reason}
            return self._event_stream(iter([("candidates", {"items": items}), ("done", done)]))
        body = {
            "session_id": data["session_id"],
            "items": items,
            "reranked": False,
            "rerank_status": "fallback",
            "fallback_reason": reason,
            "model": "",
            "tier": "",
        }
        return Response(body)

    def _stream(self, found: selectors.SessionCandidates, arguments: dict) -> StreamingHttpResponse:
        fast_items = _items(found.candidates, {})
        events = itertools.chain(
            [("candidates", {"items": fast_items})], reranking.stream_rerank(**arguments, fast_items=fast_items)
        )
        return self._event_stream(events)

    def _event_stream(self, events: Iterator[tuple[str, dict]]) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            (_event(name, data) for name, data in events), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # let reverse proxies pass events through at once
        return response
