"""When a product's applied tags change, its neighbour lists are refreshed in the background."""

from functools import partial

from django.db import transaction


def refresh_neighbours_on_tag_change(sender, product_ids: list[int], **kwargs) -> None:
    from recommendations.tasks import enqueue_similar_refresh

    if product_ids:
        transaction.on_commit(partial(enqueue_similar_refresh, product_ids=list(product_ids)))


def connect() -> None:
    from tagging.signals import tags_changed

    tags_changed.connect(refresh_neighbours_on_tag_change, dispatch_uid="recommendations.refresh_neighbours")
