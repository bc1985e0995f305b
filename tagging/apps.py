from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = "Tagging"

    def ready(self) -> None:
        # Receivers import the models, which only load once the app registry is ready.
        from tagging import signals

        signals.connect()
