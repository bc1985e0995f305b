"""Read-only gateway statistics for dashboards, reports and the admin."""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from llm import canary, config
from llm.models import CanaryEvent, LLMCall

LATENCY_SAMPLE = 10_000  # percentiles read at most this many recent calls per model


def spend_by_day_and_model(*, since: datetime) -> list[dict]:
    """One row per day and model: calls made (skips excluded) and what they cost, newest day first."""
    rows = (
        LLMCall.objects.filter(created_at__gte=since)
        .exclude(outcome=LLMCall.Outcome.SKIPPED)
        .annotate(day=TruncDate("created_at"))
        .values("day", "model")
        .annotate(calls=Count("id"), cost_usd=Sum("cost_usd"))
        .order_by("-day", "model")
    )
    return [
        {"day": row["day"], "model": row["model"], "calls": row["calls"], "cost_usd": row["cost_usd"] or Decimal(0)}
        for row in rows
    ]


def model_health(*, since: datetime) -> list[dict]:
    """Per model: calls, errors, error rate, p50/p95 latency (ms), cost and tokens since ``since``."""
    calls = LLMCall.objects.filter(created_at__gte=since).exclude(outcome=LLMCall.Outcome.SKIPPED)
    totals = (
        calls.values("model")
        .annotate(
            calls=Count("id"),
            errors=Count("id", filter=~Q(outcome=LLMCall.Outcome.SUCCESS)),
            cost_usd=Sum("cost_usd"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
        )
        .order_by("model")
    )
    health = []
    for row in totals:
        latencies = list(
            calls.filter(model=row["model"]).order_by("-id").values_list("latency_ms", flat=True)[:LATENCY_SAMPLE]
        )
        health.append(
            {
                "model": row["model"],
                "calls": row["calls"],
                "errors": row["errors"],
                "error_rate": row["errors"] / row["calls"] if row["calls"] else 0.0,
                "p50_ms": canary.percentile(latencies, 0.50),
                "p95_ms": canary.percentile(latencies, 0.95),
                "cost_usd": row["cost_usd"] or Decimal(0),
                "input_tokens": row["input_tokens"] or 0,
                "output_tokens": row["output_tokens"] or 0,
            }
        )
    return health


def canary_arms(*, route: str) -> list[dict]:
    """The route's primary and canary arms side by side, over the canary window."""
    route_config = config.route_config(route)
    arms = []
    if route_config.primary is not None:
        arms.append(("primary", route_config.primary.model, 100 - route_config.canary_percent))
    if route_config.canary is not None:
        arms.append(("canary", route_config.canary.model, route_config.canary_percent))
    rows = []
    for arm, model, percent in arms:
        stats = canary.arm_stats(route=route, arm=arm, model=model, window=route_config.canary_window)
        rows.append(
            {
                "arm": arm,
                "model": model,
                "percent": percent,
                "calls": stats.calls,
                "error_rate": stats.error_rate,
                "p50_ms": stats.p50_ms,
                "p95_ms": stats.p95_ms,
            }
        )
    return rows


def canary_events(*, limit: int = 20) -> QuerySet[CanaryEvent]:
    """The latest canary rollbacks and changes, newest first."""
    return CanaryEvent.objects.order_by("-created_at", "-id")[:limit]
