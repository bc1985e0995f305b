"""Spend caps per route per day and per month.

Spend so far is kept in Django's cache in microdollars (one counter per route and day, per
route and month) so the check costs no query; a missing counter is rebuilt from the call log,
which stays the source of truth. The check runs BEFORE a call: spend so far + the call's
estimate must fit under the cap.
"""

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from llm.models import LLMCall
from llm.pricing import MICRODOLLAR, Price, cost_usd

DEFAULT_OUTPUT_TOKENS = 1024
IMAGE_TOKENS = 1290  # a large photo at Gemini's 258-token tiles (a 5×1 tile layout); estimates err high


@dataclass(frozen=True)
class Over:
    period: str  # "daily" or "monthly"
    spent: Decimal
    cap: Decimal
    estimate: Decimal

    def __str__(self) -> str:
        return f"{self.period} budget: spent ${self.spent} + estimate ${self.estimate} > cap ${self.cap}"


def period_keys(route: str, now: datetime | None = None) -> tuple[str, str]:
    now = timezone.now() if now is None else now
    return f"llm:spend:{route}:d:{now:%Y%m%d}", f"llm:spend:{route}:m:{now:%Y%m}"


def estimate_tokens(messages: list[dict], max_output_tokens: int | None) -> tuple[int, int]:
    """Input and output tokens a request may use, erring high (about four characters a token)."""
    characters, images = 0, 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            characters += len(content)
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "text":
                    characters += len(part.get("text", ""))
                elif part.get("type") in {"image_url", "input_image"}:
                    images += 1
    input_tokens = math.ceil(characters / 4) + 4 * len(messages) + IMAGE_TOKENS * images
    return input_tokens, max_output_tokens or DEFAULT_OUTPUT_TOKENS


def spent(route: str, *, state: dict | None = None, now: datetime | None = None) -> tuple[Decimal, Decimal]:
    """(today, this month) in USD for ``route``, from the cache or rebuilt from the call log."""
    now = timezone.now() if now is None else now
    day_key, month_key = period_keys(route, now)
    state = state if state is not None else cache.get_many([day_key, month_key])
    day = state.get(day_key)
    month = state.get(month_key)
    if day is None:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        day = _rebuild(route, since=start, key=day_key, ttl=timedelta(days=2))
    if month is None:
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month = _rebuild(route, since=start, key=month_key, ttl=timedelta(days=33))
    return Decimal(day) * MICRODOLLAR, Decimal(month) * MICRODOLLAR


def over_cap(route_config, *, price: Price, input_tokens: int, output_tokens: int, state: dict | None = None):
    """The first cap this call would break, or None."""
    if route_config.daily_budget_usd is None and route_config.monthly_budget_usd is None:
        return None
    estimate = cost_usd(price=price, input_tokens=input_tokens, output_tokens=output_tokens)
    day, month = spent(route_config.name, state=state)
    for period, so_far, cap in (
        ("daily", day, route_config.daily_budget_usd),
        ("monthly", month, route_config.monthly_budget_usd),
    ):
        if cap is not None and so_far + estimate > cap:
            return Over(period=period, spent=so_far, cap=cap, estimate=estimate)
    return None


@dataclass(frozen=True)
class Reservation:
    """Microdollars held on a route's counters while one call is in flight."""

    keys: tuple[str, ...] = ()
    micro: int = 0


NO_RESERVATION = Reservation()


def reserve(
    route_config,
    *,
    price: Price,
    input_tokens: int,
    output_tokens: int,
    enforce: bool = True,
    state: dict | None = None,
) -> "Reservation | Over":
    """Hold the call's estimate on the route's counters, or return the cap it would break.

    Adding first and checking the new total (instead of reading, then calling) keeps
    concurrent workers from all passing the same check: the increment is atomic (Redis, or
    config.cache.DatabaseCache without it), so the caps hold across the cluster.
    ``enforce=False`` (a downgraded call) only counts.
    """
    caps = (("daily", route_config.daily_budget_usd), ("monthly", route_config.monthly_budget_usd))
    if all(cap is None for _, cap in caps):
        return NO_RESERVATION
    estimate = cost_usd(price=price, input_tokens=input_tokens, output_tokens=output_tokens)
    micro = _micro(estimate)
    now = timezone.now()
    spent(route_config.name, state=state, now=now)  # makes sure both counters exist
    held: list[str] = []
    for (period, cap), key in zip(caps, period_keys(route_config.name, now), strict=True):
        if cap is None:
            continue
        total = _incr(route_config.name, key, micro, now=now)
        held.append(key)
        if enforce and total > _micro(cap):
            for taken in held:
                _incr(route_config.name, taken, -micro, now=now)
            return Over(period=period, spent=Decimal(total - micro) * MICRODOLLAR, cap=cap, estimate=estimate)
    return Reservation(keys=tuple(held), micro=micro)


def settle(reservation: Reservation, cost: Decimal) -> None:
    """Replace the held estimate with what the call really cost (0 when it failed)."""
    delta = _micro(cost) - reservation.micro
    if not reservation.keys or not delta:
        return
    for key in reservation.keys:
        # Evicted meanwhile: the next check rebuilds it from the log, which has this call.
        with contextlib.suppress(ValueError):
            cache.incr(key, delta)


def _micro(amount: Decimal) -> int:
    return int((amount / MICRODOLLAR).to_integral_value(rounding="ROUND_CEILING"))


def _incr(route: str, key: str, delta: int, *, now: datetime) -> int:
    try:
        return cache.incr(key, delta)
    except ValueError:  # evicted since it was read: rebuild from the log, then count
        spent(route, state={}, now=now)
        return cache.incr(key, delta)


def _rebuild(route: str, *, since: datetime, key: str, ttl: timedelta) -> int:
    total = LLMCall.objects.filter(route=route, created_at__gte=since).aggregate(total=Sum("cost_usd"))["total"]
    micro = int((total or Decimal(0)) / MICRODOLLAR)
    cache.add(key, micro, timeout=int(ttl.total_seconds()))
    return micro
