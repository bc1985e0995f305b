"""Files follow their rows: an image row deleted (admin, cascade from its product, a service) loses its file.

The file goes once the deletion commits, so a rolled-back deletion keeps the file its row names.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from catalog.models import ProductImage

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=ProductImage, dispatch_uid="catalog.delete_image_files")
def delete_image_files(sender, instance: ProductImage, using: str, **kwargs) -> None:
    for field_file in image_files(instance):
        transaction.on_commit(lambda field_file=field_file: _delete_unless_used(field_file), using=using)


def image_files(image: ProductImage) -> list:
    return [field_file for field_file in (image.image, image.original) if field_file]


def _delete_unless_used(field_file) -> None:
    # Names are unique per row (the storage suffixes a taken name), but a row restored or copied
    # by hand may share one: a file still named by a row stays.
    if ProductImage.objects.filter(**{field_file.field.name: field_file.name}).exists():
        return
    try:
        field_file.storage.delete(field_file.name)
    except OSError:
        logger.exception("Could not delete %s; it stays on disk until removed by hand.", field_file.name)
