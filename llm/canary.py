"""Per-arm rolling statistics and the automatic canary rollback.

After every call the canary makes, its last ``canary_window`` calls (failed and unusable
answers count as errors; only calls since it was last enabled) are compared with the
route's thresholds (error rate, and p95 latency against the primary's). Past either, the
route's canary percentage drops to 0 (one conditional UPDATE, so two workers cannot both
roll back), a CanaryEvent records the numbers and every process reloads the configuration.
"""

import logging
import math
from dataclasses import dataclass

from llm import config
from llm.models import CanaryEvent, LLMCall, Route

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArmStats:
    calls: int
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0–1) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def switched_off_at(*, route: str):
    """When the route's canary was last switched off (rolled back, or set to 0 by staff); None if never."""
    return (
        CanaryEvent.objects.filter(route=route, new_percent=0)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )


def arm_stats(*, route: str, arm: str, model: str, window: int = 100) -> ArmStats:
    """The arm's last ``window`` calls (skips aside). A canary's window starts afresh each time it
    is enabled: calls made before it was last switched off never count again."""
    calls = LLMCall.objects.filter(route=route, arm=arm, model=model).exclude(outcome=LLMCall.Outcome.SKIPPED)
    if arm == LLMCall.Arm.CANARY:
        since = switched_off_at(route=route)
        if since is not None:
            calls = calls.filter(created_at__gt=since)
    rows = list(calls.order_by("-id").values_list("outcome", "latency_ms")[:window])
    errors = sum(1 for outcome, _ in rows if outcome != LLMCall.Outcome.SUCCESS)
    latencies = [latency for _, latency in rows]
    return ArmStats(
        calls=len(rows),
        errors=errors,
        error_rate=errors / len(rows) if rows else None,
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
    )


def evaluate(route_config: config.RouteConfig, *, circuit_opened: bool = False) -> CanaryEvent | None:
    """Roll the canary back if it breaks a threshold; returns the event when it did.

    A canary whose circuit just opened is rolled back at once: the breaker would otherwise
    skip it, and skipped calls never add up to the sample it needs to be judged.
    """
    canary, primary = route_config.canary, route_config.primary
    if canary is None or route_config.canary_percent <= 0:
        return None
    window = route_config.canary_window
    stats = arm_stats(route=route_config.name, arm=LLMCall.Arm.CANARY, model=canary.model, window=window)
    if circuit_opened:
        reason = f"circuit opened after {route_config.breaker_failures} consecutive failures"
        return _roll_back(route_config, stats=stats, primary_p95=None, reason=reason)
    if stats.calls < route_config.canary_min_calls:
        return None
    primary_p95 = None
    reason = ""
    if stats.error_rate > route_config.canary_max_error_rate:
        reason = (
            f"error rate {stats.error_rate:.1%} over the last {stats.calls} calls "
            f"> {route_config.canary_max_error_rate:.1%}"
        )
    if primary is not None:
        primary_stats = arm_stats(route=route_config.name, arm=LLMCall.Arm.PRIMARY, model=primary.model, window=window)
        primary_p95 = primary_stats.p95_ms
        limit = route_config.canary_max_p95_ratio
        if (
            not reason
            and primary_stats.calls >= route_config.canary_min_calls
            and primary_p95
            and stats.p95_ms > limit * primary_p95
        ):
            reason = f"p95 {stats.p95_ms:.0f} ms > {limit:g}× primary p95 {primary_p95:.0f} ms"
    if not reason:
        return None
    return _roll_back(route_config, stats=stats, primary_p95=primary_p95, reason=reason)


def _roll_back(route_config, *, stats: ArmStats, primary_p95: float | None, reason: str) -> CanaryEvent | None:
    rolled = Route.objects.filter(name=route_config.name, canary_percent__gt=0).update(canary_percent=0)
    config.bump_version()
    if not rolled:
        return None  # another worker got there first
    event = CanaryEvent.objects.create(
        route=route_config.name,
        model=route_config.canary.model,
        kind=CanaryEvent.Kind.ROLLBACK,
        previous_percent=route_config.canary_percent,
        new_percent=0,
        reason=reason[:300],
        calls=stats.calls,
        error_rate=stats.error_rate,
        p95_ms=stats.p95_ms,
        primary_p95_ms=primary_p95,
    )
    logger.warning("Canary %s on route %s rolled back: %s", route_config.canary.model, route_config.name, reason)
    return event
