"""Staff screens for tagging: the review list, the vocabulary, flags and analyses.

Decisions go through tagging.services, which records who decided, when and what the model
said; this module only translates admin input into those calls.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.html import format_html

from catalog.admin_base import ReadOnlyInline
from tagging.models import Flag, ImageAnalysis, ProductTag, ProductTagEvent, Tag, TagSynonym


class ProductTagEventInline(ReadOnlyInline):
    model = ProductTagEvent
    fields = ("created_at", "action", "actor", "model", "confidence", "status_before", "status_after", "note")
    ordering = ("-created_at", "-id")


@admin.register(ProductTag)
class ProductTagAdmin(admin.ModelAdmin):
    list_display = (
        "product",
        "tag",
        "facet",
        "confidence",
        "band",
        "source",
        "evidence",
        "status",
        "model",
        "reviewed_by",
    )
    list_filter = ("status", "band", "source", "evidence", "tag__facet", "model")
    search_fields = ("product__sku", "product__title", "tag__name")
    list_select_related = ("product", "tag", "reviewed_by")
    readonly_fields = (
        "product",
        "tag",
        "confidence",
        "band",
        "source",
        "evidence",
        "status",
        "analysis",
        "image",
        "model",
        "reviewed_by",
        "reviewed_at",
        "created_at",
        "updated_at",
    )
    inlines = (ProductTagEventInline,)
    actions = ("approve", "reject")

    def has_add_permission(self, request):
        return False

    @admin.display(description="facet", ordering="tag__facet")
    def facet(self, obj):
        return obj.tag.get_facet_display()

    @admin.action(description="Approve selected tags", permissions=["change"])
    def approve(self, request, queryset):
        count = _services().approve_tags(
            product_tag_ids=list(queryset.values_list("id", flat=True)), reviewer=request.user
        )
        self.message_user(request, f"Approved {count} tag(s).", messages.SUCCESS)

    @admin.action(description="Reject selected tags", permissions=["change"])
    def reject(self, request, queryset):
        count = _services().reject_tags(
            product_tag_ids=list(queryset.values_list("id", flat=True)), reviewer=request.user
        )
        self.message_user(request, f"Rejected {count} tag(s).", messages.SUCCESS)


class TagSynonymInline(admin.TabularInline):
    model = TagSynonym
    fields = ("text", "facet")
    extra = 1


class MergeTagsForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Tag.objects.canonical(), help_text="Every product tag moves here.")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "facet", "status", "parent", "product_tag_count", "proposed_by_analysis")
    list_filter = ("status", "facet")
    search_fields = ("name", "slug", "synonyms__text")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    readonly_fields = ("proposed_by_analysis", "created_at")
    inlines = (TagSynonymInline,)
    actions = ("merge_into", "accept_proposed")

    @admin.display(description="product tags")
    def product_tag_count(self, obj):
        return obj.product_tags.count()

    @admin.action(description="Merge into another tag…", permissions=["change"])
    def merge_into(self, request, queryset):
        form = MergeTagsForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            target = form.cleaned_data["target"]
            moved = 0
            merged = 0
            for source in queryset.exclude(pk=target.pk):
                moved += _services().merge_tags(source=source, target=target, actor=request.user)
                merged += 1
            self.message_user(
                request, f"Merged {merged} tag(s) into {target}; moved {moved} product tag(s).", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge tags",
            "opts": self.model._meta,
            "sources": queryset,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        }
        return TemplateResponse(request, "admin/tagging/tag/merge_confirmation.html", context)

    @admin.action(description="Accept proposed tags into the vocabulary", permissions=["change"])
    def accept_proposed(self, request, queryset):
        accepted = 0
        for tag in queryset.filter(status=Tag.Status.PROPOSED):
            _services().accept_proposed_tag(tag=tag, actor=request.user)
            accepted += 1
        self.message_user(request, f"Accepted {accepted} proposed tag(s).", messages.SUCCESS)


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ("product", "kind", "reason", "confidence", "status", "image", "cleared_by", "created_at")
    list_filter = ("status", "kind", "reason")
    search_fields = ("product__sku", "product__title", "reason")
    list_select_related = ("product", "cleared_by")
    readonly_fields = (
        "product",
        "image",
        "analysis",
        "kind",
        "reason",
        "confidence",
        "details",
        "status",
        "cleared_by",
        "cleared_at",
        "created_at",
    )
    actions = ("clear",)

    def has_add_permission(self, request):
        return False

    @admin.action(description="Clear selected flags", permissions=["change"])
    def clear(self, request, queryset):
        cleared = 0
        for flag_id in queryset.filter(status=Flag.Status.OPEN).values_list("id", flat=True):
            _services().clear_flag(flag_id=flag_id, reviewer=request.user)
            cleared += 1
        self.message_user(request, f"Cleared {cleared} flag(s).", messages.SUCCESS)


@admin.register(ImageAnalysis)
class ImageAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "image_link",
        "workflow",
        "status",
        "model",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "short_error",
        "created_at",
    )
    list_filter = ("status", "workflow", "model", "analyser", "error_class")
    search_fields = ("image__product__sku", "model", "error")
    list_select_related = ("image__product",)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="image", ordering="image")
    def image_link(self, obj):
        return format_html("{} #{}", obj.image.product.sku, obj.image.position)

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error


def _services():
    # tagging.services pulls in the analysis pipeline and the gateway; loading them when an
    # action runs keeps admin autodiscovery light.
    from tagging import services

    return services
