from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "Model gateway"

    def ready(self) -> None:
        # Models (and llm.config, which reads them) only load once the app registry is ready.
        from llm import config
        from llm.models import ModelDeployment, Provider, Route, RouteStep

        # Any configuration change makes every process reload its routing snapshot.
        for model in (Provider, ModelDeployment, Route, RouteStep):
            post_save.connect(config.bump_version, sender=model, dispatch_uid=f"llm-config-{model.__name__}-save")
            post_delete.connect(config.bump_version, sender=model, dispatch_uid=f"llm-config-{model.__name__}-delete")
