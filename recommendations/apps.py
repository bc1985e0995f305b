from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        # Receivers import the models, which only load once the app registry is ready.
        from recommendations import freshness, signals

        signals.connect()
        freshness.connect()
