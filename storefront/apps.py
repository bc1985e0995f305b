from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """What shoppers, integrations and staff see of products with their tags: the products API and
    the product admin. It sits above catalog, tagging and recommendations and owns no models, so
    the admin keeps the models' own URLs (/admin/catalog/product/)."""

    name = "storefront"
    verbose_name = "Storefront"
