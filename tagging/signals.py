"""Signals only enqueue, and only once the transaction that saved the image has committed."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from catalog.models import ProductImage
from tagging import queueing, vocabulary
from tagging.models import Tag, TagSynonym

# Sent after commit whenever a product's applied tags change: kwargs product_ids (list[int]).
tags_changed = Signal()


def enqueue_analysis_of_new_image(sender, instance: ProductImage, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        transaction.on_commit(partial(_enqueue_analysis, image_id=instance.pk))


def _enqueue_analysis(*, image_id: int) -> None:
    queueing.dispatch(queueing.enqueue_analyses(image_ids=[image_id]))


def connect() -> None:
    post_save.connect(
        enqueue_analysis_of_new_image, sender=ProductImage, dispatch_uid="tagging.enqueue_analysis_of_new_image"
    )
    for model in (Tag, TagSynonym):
        for change in (post_save, post_delete):
            change.connect(
                vocabulary.vocabulary_changed, sender=model, dispatch_uid=f"tagging.vocabulary.{model.__name__}"
            )
