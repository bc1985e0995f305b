"""The storefront and integration API of the catalog (Django REST framework)."""
