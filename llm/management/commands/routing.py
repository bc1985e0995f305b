"""Show and change the gateway's routing.

manage.py routing status
manage.py routing canary vision-tagging 25 [--model provider/model]
manage.py routing enable MODEL [--provider NAME]
manage.py routing disable MODEL [--provider NAME]
manage.py routing init [--premium-fallback]   # create the default provider, seed models and both routes
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from llm import breaker, config, selectors, services
from llm.models import Route
from llm.seeds import KNOWN_ROUTES


class Command(BaseCommand):
    help = "Show and change model routing: status, canary, enable, disable, init."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="Routes, chains, canaries, open circuits and 24 h health.")
        canary = actions.add_parser("canary", help="Set a route's canary percentage.")
        canary.add_argument("route")
        canary.add_argument("percent", type=int)
        canary.add_argument("--model", help="Make this model (or provider/model) the canary.")
        for verb in ("enable", "disable"):
            toggle = actions.add_parser(verb, help=f"{verb.capitalize()} a model.")
            toggle.add_argument("model")
            toggle.add_argument("--provider")
        init = actions.add_parser("init", help="Create the default provider, seed models and routes when missing.")
        init.add_argument(
            "--premium-fallback",
            action="store_true",
            help="Also put gpt-4.1 (premium, about 7x the price) at the end of both routes' chains.",
        )

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except services.ConfigurationError as error:
            raise CommandError(str(error)) from None

    def _status(self, **_options):
        names = list(dict.fromkeys([*KNOWN_ROUTES, *Route.objects.values_list("name", flat=True)]))
        for name in names:
            route = config.route_config(name)
            source = "default from settings" if route.is_default else route.strategy
            self.stdout.write(self.style.MIGRATE_HEADING(f"{name}  ({source}{'' if route.enabled else ', DISABLED'})"))
            for position, deployment in enumerate(route.chain, start=1):
                self.stdout.write(f"  {position}. {self._describe(name, deployment)}")
            if route.canary is not None:
                self.stdout.write(f"  canary {route.canary_percent}%: {self._describe(name, route.canary)}")
            caps = [
                f"{label} ${cap}"
                for label, cap in (("day", route.daily_budget_usd), ("month", route.monthly_budget_usd))
                if cap is not None
            ]
            if caps:
                self.stdout.write(f"  budget: {', '.join(caps)} → {route.over_budget}")
        since = timezone.now() - timedelta(hours=24)
        health = selectors.model_health(since=since)
        if health:
            self.stdout.write(self.style.MIGRATE_HEADING("last 24 h"))
            for row in health:
                self.stdout.write(
                    f"  {row['model']}: {row['calls']} calls, {row['error_rate']:.1%} errors, "
                    f"p50 {row['p50_ms'] or 0:.0f} ms, p95 {row['p95_ms'] or 0:.0f} ms, ${row['cost_usd']}"
                )

    def _describe(self, route: str, deployment: config.DeploymentConfig) -> str:
        key_state = "key set" if deployment.provider.api_key() else f"NO KEY in {deployment.provider.api_key_env}"
        circuit = " CIRCUIT OPEN" if breaker.open_until(route, deployment.key) else ""
        described = f"{deployment.model} @ {deployment.provider.name} [{deployment.tier}, {key_state}]{circuit}"
        if deployment.price is None:
            return described + self.style.ERROR(" NO PRICE: not called until one is set (admin, Model deployments)")
        return described

    def _canary(self, *, route: str, percent: int, model: str | None = None, **_options):
        row = services.set_canary_percent(route=route, percent=percent, model=model)
        self.stdout.write(
            self.style.SUCCESS(f"{row.name}: canary {row.canary.name if row.canary else '-'} at {percent}%")
        )

    def _enable(self, *, model: str, provider: str | None = None, **_options):
        count = services.set_model_enabled(model=model, enabled=True, provider=provider)
        self.stdout.write(self.style.SUCCESS(f"enabled {model} ({count} deployment(s))"))

    def _disable(self, *, model: str, provider: str | None = None, **_options):
        count = services.set_model_enabled(model=model, enabled=False, provider=provider)
        self.stdout.write(self.style.SUCCESS(f"disabled {model} ({count} deployment(s))"))

    def _init(self, *, premium_fallback: bool = False, **_options):
        created = services.seed_configuration(premium_fallback=premium_fallback)
        if not created:
            self.stdout.write(self.style.SUCCESS("created: nothing (all present)"))
            return
        self.stdout.write(self.style.SUCCESS("created:"))
        for line in created:
            self.stdout.write(f"  {line}")
