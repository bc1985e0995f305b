"""List a provider's models (/v1/models) and make one probe call, with its latency.

manage.py check_provider                 # the default provider (settings OPENAI_*)
manage.py check_provider --provider NAME [--model MODEL]
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from llm import config
from llm.models import ModelDeployment, Provider
from llm.providers import openai_compatible


class Command(BaseCommand):
    help = "List a provider's models and make one probe call, reporting its latency."

    def add_arguments(self, parser):
        parser.add_argument("--provider", default=config.DEFAULT_PROVIDER)
        parser.add_argument("--model", help="Model to probe; default: the provider's first enabled model.")

    def handle(self, *args, provider: str, model: str | None, **options):
        provider_config, models = self._provider(provider)
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
        probe = model or (models[0] if models else settings.SHELFSIGHT_VISION_MODEL)
        try:
            response = openai_compatible.chat(
                base_url=base_url,
                api_key=api_key,
                model=probe,
                messages=[{"role": "user", "content": "Reply with the word ok."}],
                timeout=timeout,
                max_retries=0,
                max_output_tokens=5,
            )
        except openai_compatible.ProviderCallFailed as failure:
            raise CommandError(f"{provider}: probe of {probe} failed: {failure}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"probe {probe}: {response.latency_ms:.0f} ms, "
                f"{response.input_tokens} input / {response.output_tokens} output tokens"
            )
        )

    def _provider(self, name: str) -> tuple[config.ProviderConfig, list[str]]:
        row = Provider.objects.filter(name=name).first()
        if row is None:
            if name != config.DEFAULT_PROVIDER:
                raise CommandError(f"no provider named {name!r}")
            return config.ProviderConfig(name=name), [settings.SHELFSIGHT_VISION_MODEL]
        models = list(
            ModelDeployment.objects.filter(provider=row, enabled=True).order_by("name").values_list("name", flat=True)
        )
        return config.provider_config(row), models
