"""The routing decision: which deployments to try, in what order, on which arm. Pure and fast.

Nothing here touches the database or the cache; the gateway passes in the shared state
(open circuits) it fetched in one round trip.
"""

import hashlib
from dataclasses import dataclass

from llm.config import DeploymentConfig, RouteConfig, unit_price


@dataclass(frozen=True)
class Step:
    deployment: DeploymentConfig
    arm: str  # primary / canary / fallback


def bucket(route: str, routing_key: str) -> int:
    """0–99, the same for the same route and key in every process (unlike hash())."""
    digest = hashlib.blake2b(f"{route}\x00{routing_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def on_canary(route: RouteConfig, routing_key: str) -> bool:
    if route.canary is None or route.canary_percent <= 0 or not routing_key:
        return False
    return bucket(route.name, routing_key) < route.canary_percent


def plan(route: RouteConfig, *, routing_key: str, tier: str | None, needs_vision: bool, downgrade: bool = False):
    """The ordered steps for one request: canary (if this key is on it), then the chain.

    Tiered routes start with the request's tier (cheapest first), then the rest of the chain.
    A downgraded request (over budget) only gets the route's budget-tier models.
    """
    if downgrade:
        ordered = list(route.budget_tier)
    elif route.strategy == "tiered":
        wanted = tier or route.default_tier
        of_tier = sorted((d for d in route.chain if d.tier == wanted), key=unit_price)
        ordered = of_tier + [d for d in route.chain if d.tier != wanted]
    else:
        ordered = list(route.chain)
    if needs_vision:
        ordered = [d for d in ordered if d.supports_vision]
    steps = []
    if not downgrade and on_canary(route, routing_key) and (route.canary.supports_vision or not needs_vision):
        steps.append(Step(route.canary, "canary"))
        ordered = [d for d in ordered if d.key != route.canary.key]
    for index, deployment in enumerate(ordered):
        first = index == 0 and not steps
        steps.append(Step(deployment, "primary" if first else "fallback"))
    return steps
