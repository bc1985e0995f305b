"""Changes to the gateway's configuration: what admin actions and the routing command call."""

from django.conf import settings
from django.db import transaction

from llm.models import CanaryEvent, ModelDeployment, Provider, Route, RouteStep, Tier
from llm.seeds import DEFAULT_DAILY_BUDGETS_USD, SEED_PRICES, SEED_TIERS

TEXT_ONLY = {"deepseek-v3.2"}


class ConfigurationError(ValueError):
    """A routing change that names something that does not exist."""


@transaction.atomic
def set_canary_percent(*, route: str, percent: int, model: str | None = None) -> Route:
    """Send ``percent`` of the route's keys to its canary (optionally naming a new canary model)."""
    if not 0 <= percent <= 100:
        raise ConfigurationError("percent must be between 0 and 100")
    try:
        row = Route.objects.select_for_update().get(name=route)
    except Route.DoesNotExist:
        raise ConfigurationError(f"no route named {route!r} (run `routing init` first)") from None
    if model is not None:
        row.canary = _deployment(model)
    if row.canary is None and percent > 0:
        raise ConfigurationError(f"route {route} has no canary model; name one with --model")
    previous = row.canary_percent
    row.canary_percent = percent
    row.save()
    CanaryEvent.objects.create(
        route=row.name,
        model=row.canary.name if row.canary else "",
        kind=CanaryEvent.Kind.CHANGE,
        previous_percent=previous,
        new_percent=percent,
        reason="changed by staff",
    )
    return row


def set_model_enabled(*, model: str, enabled: bool, provider: str | None = None) -> int:
    """Enable or disable a model (at one provider, or everywhere); returns how many deployments."""
    rows = ModelDeployment.objects.filter(name=model)
    if provider:
        rows = rows.filter(provider__name=provider)
    changed = 0
    for row in rows:  # save() per row so every process reloads its routing snapshot
        row.enabled = enabled
        row.save(update_fields=["enabled"])
        changed += 1
    if not changed:
        raise ConfigurationError(f"no deployment of model {model!r}")
    return changed


PREMIUM_FALLBACK = "gpt-4.1"


@transaction.atomic
def seed_configuration(*, premium_fallback: bool = False) -> list[str]:
    """Create the default provider, the seed models and the two routes when missing; returns
    one line per thing created, naming everything it made (a route with its chain and cap).

    The default provider keeps base URL blank and reads OPENAI_API_KEY, so it follows
    settings. SHELFSIGHT_VISION_MODEL, when it is not a seed model, gets a deployment without
    a price, which the gateway does not call until staff set one. The premium model joins a
    chain only with ``premium_fallback`` (gpt-4.1 costs about 7× the seed vision model).
    """
    created = []
    provider, made = Provider.objects.get_or_create(name="default", defaults={"api_key_env": "OPENAI_API_KEY"})
    if made:
        created.append("provider default (OPENAI_BASE_URL, key from OPENAI_API_KEY)")
    vision_model = settings.SHELFSIGHT_VISION_MODEL
    for model in dict.fromkeys([*SEED_PRICES, vision_model]):
        price = SEED_PRICES.get(model)
        _, made = ModelDeployment.objects.get_or_create(
            provider=provider,
            name=model,
            defaults={
                "tier": SEED_TIERS.get(model, Tier.EFFICIENT),
                "input_price_per_mtok": price.input_per_mtok if price else None,
                "output_price_per_mtok": price.output_per_mtok if price else None,
                "supports_vision": model not in TEXT_ONLY,
            },
        )
        if made:
            created.append(
                f"model {model} (${price.input_per_mtok}/${price.output_per_mtok} per Mtok)"
                if price
                else f"model {model} (NO PRICE: not called until one is set in the admin)"
            )
    fallback = [PREMIUM_FALLBACK] if premium_fallback else []
    chains = {
        "vision-tagging": (Route.Strategy.FALLBACK, [vision_model, *fallback]),
        "recommendations": (Route.Strategy.TIERED, ["deepseek-v3.2", "gemini-2.5-flash", *fallback]),
    }
    for name, (strategy, models) in chains.items():
        cap = DEFAULT_DAILY_BUDGETS_USD.get(name)
        route, made = Route.objects.get_or_create(name=name, defaults={"strategy": strategy, "daily_budget_usd": cap})
        if not made:
            continue
        chain = list(dict.fromkeys(models))
        for position, model in enumerate(chain, start=1):
            deployment = ModelDeployment.objects.get(provider=provider, name=model)
            RouteStep.objects.create(route=route, deployment=deployment, position=position)
        created.append(
            f"route {name} ({strategy}: {' → '.join(chain)}{f'; daily cap ${cap}' if cap is not None else ''})"
        )
    return created


def _deployment(model: str) -> ModelDeployment:
    """A deployment by model name, or by ``provider/model`` when several providers serve it."""
    rows = ModelDeployment.objects.select_related("provider")
    if "/" in model:
        provider, _, name = model.partition("/")
        rows = rows.filter(provider__name=provider, name=name)
    else:
        rows = rows.filter(name=model)
    found = list(rows[:2])
    if len(found) != 1:
        raise ConfigurationError(f"{model!r} names {len(found) or 'no'} deployments; use provider/model")
    return found[0]
