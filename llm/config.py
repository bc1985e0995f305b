"""The gateway's configuration as plain frozen objects, cached in-process.

Rows (Provider, ModelDeployment, Route, RouteStep) are read once into a snapshot. Every save
or delete bumps a version number kept in Django's cache; each process compares it with its
snapshot's at most every RECHECK_SECONDS and reloads
when it changed, so staff edits apply without a restart and the routing decision never
waits on the database or the cache.

A route without a row runs on the default deployment: the SHELFSIGHT_VISION_MODEL model at
the OPENAI_BASE_URL provider with OPENAI_API_KEY, all read from settings at call time.
"""

import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache

from llm.models import ModelDeployment, Route, RouteStep
from llm.pricing import Price
from llm.seeds import DEFAULT_DAILY_BUDGETS_USD, SEED_PRICES, SEED_TIERS

VERSION_KEY = "llm:config-version"
DEFAULT_PROVIDER = "default"
TIERS = ("budget", "efficient", "premium")
# The openai SDK's own retries for a provider without max_retries of its own (they honour
# Retry-After); the gateway then falls back to the route's next model.
DEFAULT_MAX_RETRIES = 2
# How often a process looks for route changes staff made in the admin: edits apply within this
# without a restart, and a routing decision never waits on the database.
RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float | None = None
    max_retries: int | None = None
    max_concurrency: int = 16

    def resolved_base_url(self) -> str:
        return self.base_url or settings.OPENAI_BASE_URL

    def api_key(self) -> str:
        """The key, read now. OPENAI_API_KEY comes from settings (which read the environment)."""
        if self.api_key_env == "OPENAI_API_KEY":
            return settings.OPENAI_API_KEY or ""
        return os.environ.get(self.api_key_env, "")

    def resolved_timeout(self) -> float:
        return self.timeout if self.timeout is not None else float(settings.SHELFSIGHT_LLM_TIMEOUT)

    def resolved_max_retries(self) -> int:
        return self.max_retries if self.max_retries is not None else DEFAULT_MAX_RETRIES


@dataclass(frozen=True)
class DeploymentConfig:
    model: str
    provider: ProviderConfig
    tier: str = "efficient"
    price: Price | None = None  # None: unknown, and then never called (docs/providers.md)
    supports_vision: bool = True
    supports_json_schema: bool = True

    @property
    def key(self) -> str:
        """Identifies the deployment in shared state (circuit breaker, concurrency)."""
        return f"{self.provider.name}/{self.model}"


@dataclass(frozen=True)
class RouteConfig:
    name: str
    chain: tuple[DeploymentConfig, ...]
    strategy: str = "fallback"
    default_tier: str = "efficient"
    enabled: bool = True
    canary: DeploymentConfig | None = None
    canary_percent: int = 0
    daily_budget_usd: Decimal | None = None
    monthly_budget_usd: Decimal | None = None
    over_budget: str = "refuse"
    canary_max_error_rate: float = 0.05
    canary_max_p95_ratio: float = 2.0
    canary_window: int = 100
    canary_min_calls: int = 20
    breaker_failures: int = 5
    breaker_cooldown_seconds: int = 60
    budget_tier: tuple[DeploymentConfig, ...] = ()
    is_default: bool = False

    @property
    def primary(self) -> DeploymentConfig | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True)
class Snapshot:
    version: object
    routes: dict[str, RouteConfig] = field(default_factory=dict)
    deployments: tuple[DeploymentConfig, ...] = ()


def default_route(name: str) -> RouteConfig:
    """The route every name gets until staff create a row for it: one model from settings."""
    model = settings.SHELFSIGHT_VISION_MODEL
    deployment = DeploymentConfig(
        model=model,
        provider=ProviderConfig(name=DEFAULT_PROVIDER),
        tier=SEED_TIERS.get(model, "efficient"),
        price=SEED_PRICES.get(model),
    )
    return RouteConfig(
        name=name, chain=(deployment,), daily_budget_usd=DEFAULT_DAILY_BUDGETS_USD.get(name), is_default=True
    )


_lock = threading.Lock()
_snapshot: Snapshot | None = None
_checked_at = 0.0


def snapshot() -> Snapshot:
    """The current configuration; reloads when another process (or this one) bumped the version."""
    global _snapshot, _checked_at
    now = time.monotonic()
    current = _snapshot
    if current is not None and now - _checked_at < _recheck_seconds():
        return current
    version = cache.get(VERSION_KEY)
    if version is None:
        version = _initial_version()
    with _lock:
        if _snapshot is None or _snapshot.version != version:
            _snapshot = _load(version)
        _checked_at = now
        return _snapshot


def route_config(name: str) -> RouteConfig:
    return snapshot().routes.get(name) or default_route(name)


def bump_version(**_signal_kwargs) -> None:
    """Called on every configuration save/delete: all processes reload within the recheck period."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, _initial_version() + 1, timeout=None)
    invalidate()


def invalidate() -> None:
    """Forget this process's snapshot (tests call it after the database is rolled back)."""
    global _snapshot, _checked_at
    with _lock:
        _snapshot = None
        _checked_at = 0.0


def _initial_version() -> int:
    # A clock-based start keeps a cleared cache from reusing a version a process already holds.
    version = int(time.time() * 1000)
    cache.add(VERSION_KEY, version, timeout=None)
    return cache.get(VERSION_KEY) or version


def _load(version: object) -> Snapshot:
    deployments = {
        row.pk: deployment_config(row)
        for row in ModelDeployment.objects.select_related("provider").filter(enabled=True, provider__enabled=True)
    }
    steps: dict[int, list[DeploymentConfig]] = {}
    for step in RouteStep.objects.order_by("position", "id"):
        if step.deployment_id in deployments:
            steps.setdefault(step.route_id, []).append(deployments[step.deployment_id])
    all_budget = tuple(sorted((d for d in deployments.values() if d.tier == "budget"), key=unit_price))
    routes = {}
    for route in Route.objects.all():
        chain = tuple(steps.get(route.pk, ()))
        route_budget = tuple(sorted((d for d in chain if d.tier == "budget"), key=unit_price)) or all_budget
        routes[route.name] = RouteConfig(
            name=route.name,
            chain=chain,
            strategy=route.strategy,
            default_tier=route.default_tier,
            enabled=route.enabled,
            canary=deployments.get(route.canary_id),
            canary_percent=route.canary_percent,
            daily_budget_usd=route.daily_budget_usd,
            monthly_budget_usd=route.monthly_budget_usd,
            over_budget=route.over_budget,
            canary_max_error_rate=route.canary_max_error_rate,
            canary_max_p95_ratio=route.canary_max_p95_ratio,
            canary_window=route.canary_window,
            canary_min_calls=route.canary_min_calls,
            breaker_failures=route.breaker_failures,
            breaker_cooldown_seconds=route.breaker_cooldown_seconds,
            budget_tier=route_budget,
        )
    return Snapshot(version=version, routes=routes, deployments=tuple(deployments.values()))


def provider_config(row) -> ProviderConfig:
    """The call settings of one ``llm.models.Provider`` row."""
    return ProviderConfig(
        name=row.name,
        base_url=row.base_url,
        api_key_env=row.api_key_env,
        timeout=row.timeout,
        max_retries=row.max_retries,
        max_concurrency=row.max_concurrency,
    )


def deployment_config(row) -> DeploymentConfig:
    """The routing view of one ``llm.models.ModelDeployment`` row (its provider selected)."""
    return DeploymentConfig(
        model=row.name,
        provider=provider_config(row.provider),
        tier=row.tier,
        price=price_of(row),
        supports_vision=row.supports_vision,
        supports_json_schema=row.supports_json_schema,
    )


def price_of(row) -> Price | None:
    """A ``llm.models.ModelDeployment`` row's price, or None until staff set both halves."""
    if row.input_price_per_mtok is None or row.output_price_per_mtok is None:
        return None
    return Price(row.input_price_per_mtok, row.output_price_per_mtok)


def unit_price(deployment: DeploymentConfig) -> Decimal:
    """Input + output price, for ordering cheapest first; unpriced models sort last."""
    if deployment.price is None:
        return Decimal("Infinity")
    return deployment.price.input_per_mtok + deployment.price.output_per_mtok


def _recheck_seconds() -> float:
    return RECHECK_SECONDS
