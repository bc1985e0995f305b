"""Admin building blocks shared by the apps' admin modules."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import ProductImage

THUMBNAIL_PX = 64


def thumbnail_html(image: ProductImage, size: int = THUMBNAIL_PX):
    if not image.image:
        return "—"
    # Served by a staff-only view, so thumbnails show even where MEDIA_URL is not served.
    return format_html(
        '<img src="{}" alt="{}" width="{}" height="{}" style="object-fit:cover;border-radius:4px" loading="lazy">',
        reverse("tagging:image-file", args=[image.pk]),
        str(image),
        size,
        size,
    )


class ReadOnlyInline(admin.TabularInline):
    """A history shown beside its parent: every listed field read-only, nothing added or deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False
