from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # Receivers import the models, which only load once the app registry is ready.
        from catalog import signals  # noqa: F401  (connects the receivers)
