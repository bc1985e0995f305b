"""Admin building blocks shared by the apps' admin modules."""

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """A history shown beside its parent: every listed field read-only, nothing added or deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False
