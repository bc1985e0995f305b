"""When a product's applied tags change, its neighbour lists are refreshed in the background."""

from functools import partial

from django.db import transaction

from recommendations.tasks import enqueue_similar_refresh
from tagging.signals import tags_changed


def refresh_neighbours_on_tag_change(sender, product_ids: list[int], **kwargs) -> None:
    if product_ids:
        transaction.on_commit(partial(enqueue_similar_refresh, product_ids=list(product_ids)))


def connect() -> None:
    tags_changed.connect(refresh_neighbours_on_tag_change, dispatch_uid="recommendations.refresh_neighbours")
