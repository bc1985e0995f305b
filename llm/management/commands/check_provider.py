"""List a provider's models (/v1/models) and make one probe call, with its latency.

manage.py check_provider                 # the default provider (settings OPENAI_*)
manage.py check_provider --provider NAME [--model MODEL]

The probe is logged in the call log (route "check-provider") at the model's price; a model
without a price is not probed.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from llm import config, gateway
from llm.exceptions import PriceUnknown, ProviderUnavailable
from llm.models import ModelDeployment, Provider
from llm.providers import openai_compatible


class Command(BaseCommand):
    help = "List a provider's models and make one probe call (logged in the call log), reporting its latency."

    def add_arguments(self, parser):
        parser.add_argument("--provider", default=config.DEFAULT_PROVIDER)
        parser.add_argument("--model", help="Model to probe; default: the provider's first enabled model.")

    def handle(self, *args, provider: str, model: str | None, **options):
        provider_config, deployments = self._provider(provider)
        api_key = provider_config.api_key()
        if not api_key:
            raise CommandError(f"{provider}: no key in {provider_config.api_key_env}")
        base_url = provider_config.resolved_base_url()
        timeout = provider_config.resolved_timeout()
        self.stdout.write(f"{provider} at {base_url} (key from {provider_config.api_key_env})")
        try:
            listed = openai_compatible.list_models(base_url=base_url, api_key=api_key, timeout=timeout)
        except openai_compatible.ProviderCallFailed as failure:
            raise CommandError(f"{provider}: listing models failed: {failure}") from None
        self.stdout.write(f"models ({len(listed)}): {', '.join(listed)}")
        unpriced = [deployment.model for deployment in deployments.values() if deployment.price is None]
        if unpriced:
            self.stderr.write(
                self.style.ERROR(f"NO PRICE (not called until one is set in the admin): {', '.join(unpriced)}")
            )
        name = model or next(iter(deployments), settings.SHELFSIGHT_VISION_MODEL)
        deployment = deployments.get(name) or config.DeploymentConfig(model=name, provider=provider_config)
        try:
            result = gateway.probe(deployment=deployment)
        except PriceUnknown:
            raise CommandError(
                f"{provider}: {name} has no price, so it was not probed: set its prices in the admin "
                "(Model deployments); until then the gateway does not call it"
            ) from None
        except ProviderUnavailable as error:
            raise CommandError(f"{provider}: probe of {error}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"probe {name}: {result.latency_ms:.0f} ms, "
                f"{result.input_tokens} input / {result.output_tokens} output tokens, ${result.cost_usd} "
                f"(call log #{result.call_id})"
            )
        )

    def _provider(self, name: str) -> tuple[config.ProviderConfig, dict[str, config.DeploymentConfig]]:
        """The provider's call settings and its enabled deployments by model name, in name order."""
        row = Provider.objects.filter(name=name).first()
        if row is None:
            if name != config.DEFAULT_PROVIDER:
                raise CommandError(f"no provider named {name!r}")
            default = config.default_route(gateway.PROBE_ROUTE).primary  # SHELFSIGHT_VISION_MODEL, seed price
            return default.provider, {default.model: default}
        rows = ModelDeployment.objects.filter(provider=row, enabled=True).select_related("provider").order_by("name")
        return config.provider_config(row), {item.name: config.deployment_config(item) for item in rows}
