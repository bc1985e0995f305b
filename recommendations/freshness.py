"""A catalog version that every cached recommendation answer is keyed on.

Any change that can alter an answer — applied tags (``tags_changed`` or a ProductTag saved
directly), a product saved or deleted (a hold hides it), neighbour lists rewritten — moves the
version, so answers cached before it are never served again; they simply expire. Reading the
version is one cache read, which lets the endpoints answer from cache before any query.
"""

import uuid

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from catalog.models import Product
from tagging.models import ProductTag
from tagging.signals import tags_changed

VERSION_KEY = "recommendations:catalog-version"


def catalog_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = bump_catalog_version()
    return version


def bump_catalog_version(**kwargs) -> str:
    """Start a new version; signal receivers call it with the signal's arguments."""
    version = uuid.uuid4().hex
    cache.set(VERSION_KEY, version, None)
    return version


def connect() -> None:
    tags_changed.connect(bump_catalog_version, dispatch_uid="recommendations.freshness.tags_changed")
    for model in (Product, ProductTag):
        post_save.connect(bump_catalog_version, sender=model, dispatch_uid=f"recommendations.freshness.save.{model}")
        post_delete.connect(
            bump_catalog_version, sender=model, dispatch_uid=f"recommendations.freshness.delete.{model}"
        )


def cached_for_version(*, key: str) -> tuple[str, object | None]:
    """(current version, the value stored under ``key`` if it was stored at that version) in one read."""
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY) or bump_catalog_version()
    stored = found.get(key)
    if stored is not None and stored[0] == version:
        return version, stored[1]
    return version, None


def store_for_version(*, key: str, version: str, value, timeout: int) -> None:
    """Store ``value``; read the version before reading the data, so a change during the read is not masked."""
    cache.set(key, (version, value), timeout)
