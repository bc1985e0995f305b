"""Staff screens for tagging: the review list, the vocabulary, flags and analyses.

Decisions go through tagging.services, which records who decided, when and what the model
said; this module only translates admin input into those calls.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.admin_base import ReadOnlyInline, thumbnail_html
from tagging import services, webhooks
from tagging.analysis.parsing import Findings
from tagging.models import (
    Flag,
    ImageAnalysis,
    ProductTag,
    ProductTagEvent,
    Tag,
    TagSynonym,
    WebhookAttempt,
    WebhookDelivery,
)


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
        count = services.approve_tags(
            product_tag_ids=list(queryset.values_list("id", flat=True)), reviewer=request.user
        )
        self.message_user(request, f"Approved {count} tag(s).", messages.SUCCESS)

    @admin.action(description="Reject selected tags", permissions=["change"])
    def reject(self, request, queryset):
        count = services.reject_tags(product_tag_ids=list(queryset.values_list("id", flat=True)), reviewer=request.user)
        self.message_user(request, f"Rejected {count} tag(s).", messages.SUCCESS)


class TagSynonymInline(admin.TabularInline):
    model = TagSynonym
    fields = ("text", "facet")
    extra = 1


class MergeTagsForm(forms.Form):
    """Choose where the selected tags go: only canonical tags of their own facet are offered."""

    target = forms.ModelChoiceField(queryset=Tag.objects.none(), help_text="Every product tag moves here.")

    def __init__(self, *args, facet: str, sources, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = Tag.objects.canonical().filter(facet=facet).exclude(pk__in=sources)


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
        facets = set(queryset.values_list("facet", flat=True))
        if len(facets) != 1:
            self.message_user(
                request, "Tags can only be merged within one facet: select tags of a single facet.", messages.ERROR
            )
            return None
        sources = list(queryset)
        form = MergeTagsForm(
            request.POST if "confirm" in request.POST else None, facet=facets.pop(), sources=[tag.pk for tag in sources]
        )
        if "confirm" in request.POST and form.is_valid():
            return self._merge(request, sources=sources, target=form.cleaned_data["target"])
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge tags",
            "opts": self.model._meta,
            "sources": sources,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected_ids": [str(tag.pk) for tag in sources],
        }
        return TemplateResponse(request, "admin/tagging/tag/merge_confirmation.html", context)

    def _merge(self, request, *, sources: list[Tag], target: Tag) -> None:
        moved = merged = 0
        for source in sources:
            try:
                moved += services.merge_tags(source=source, target=target, actor=request.user)
            except services.TagMergeRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
                continue
            merged += 1
        if merged:
            self.message_user(
                request, f"Merged {merged} tag(s) into {target}; moved {moved} product tag(s).", messages.SUCCESS
            )

    @admin.action(description="Accept proposed tags into the vocabulary", permissions=["change"])
    def accept_proposed(self, request, queryset):
        accepted = 0
        for tag in queryset.filter(status=Tag.Status.PROPOSED):
            services.accept_proposed_tag(tag=tag, actor=request.user)
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
            services.clear_flag(flag_id=flag_id, reviewer=request.user)
            cleared += 1
        self.message_user(request, f"Cleared {cleared} flag(s).", messages.SUCCESS)


@admin.register(ImageAnalysis)
class ImageAnalysisAdmin(admin.ModelAdmin):
    """An audit record of one analysis: shown, never added, changed or deleted here."""

    list_display = (
        "id",
        "image_link",
        "workflow",
        "status",
        "analyser",
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
    fieldsets = (
        (None, {"fields": ("image_preview", "findings", "quality", "status", "workflow", "error_class", "error")}),
        (
            "How it was asked",
            {
                "fields": (
                    "analyser",
                    "route",
                    "provider",
                    "model",
                    "arm",
                    "fallback_reason",
                    "llm_request_id",
                    "prompt_version",
                    "attempts",
                    "force",
                    "queue",
                    "reused_from",
                    "requested_by",
                )
            },
        ),
        (
            "Cost and time",
            {
                "fields": (
                    ("input_tokens", "output_tokens", "cost_usd"),
                    "latency_ms",
                    ("created_at", "started_at", "finished_at"),
                )
            },
        ),
        ("Raw answer", {"classes": ("collapse",), "fields": ("raw_response", "result", "quality_report")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return ["image_preview", "findings", "quality", *(field.name for field in self.model._meta.fields)]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="image", ordering="image")
    def image_link(self, obj):
        return format_html("{} #{}", obj.image.product.sku, obj.image.position)

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.display(description="image")
    def image_preview(self, obj):
        return format_html(
            '{}<br><a href="{}">{} · image #{}</a>',
            thumbnail_html(obj.image, 240),
            reverse("admin:catalog_product_change", args=[obj.image.product_id]),
            obj.image.product.sku,
            obj.image.position,
        )

    @admin.display(description="findings")
    def findings(self, obj):
        found = Findings.from_json(obj.result)
        if not found.tags and not found.prohibited:
            return "—"
        rows = [
            format_html(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", finding.facet, finding.value, f"{finding.confidence:.2f}"
            )
            for finding in found.tags
        ]
        rows += [
            format_html(
                '<tr class="ss-prohibited"><td>prohibited</td><td>{}</td><td>{}</td></tr>', signal, f"{confidence:.2f}"
            )
            for signal, confidence in found.prohibited.items()
        ]
        return format_html(
            '<table class="ss-findings"><thead><tr><th>facet</th><th>value</th><th>confidence</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            mark_safe("".join(rows)),  # noqa: S308 — each row is escaped by format_html above
        )

    @admin.display(description="quality (0–10)")
    def quality(self, obj):
        return "—" if obj.quality_score is None else f"{obj.quality_score:.1f}"


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("attempted_at", "outcome", "response_code", "duration_ms", "error")
    ordering = ("-attempted_at", "-id")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "status", "attempt_count", "last_response", "next_attempt_at")
    list_filter = ("status", "event")
    search_fields = ("delivery_id",)
    readonly_fields = ("delivery_id", "event", "status", "queued_at", "next_attempt_at", "created_at", "body")
    inlines = (WebhookAttemptInline,)
    actions = ("replay",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("attempts")

    def has_add_permission(self, request):
        return False

    @admin.display(description="attempts")
    def attempt_count(self, obj):
        return len(obj.attempts.all())

    @admin.display(description="last answer")
    def last_response(self, obj):
        latest = max(obj.attempts.all(), key=lambda attempt: (attempt.attempted_at, attempt.id), default=None)
        if latest is None:
            return "-"
        return latest.response_code or latest.error or "-"

    @admin.action(description="Replay selected deliveries", permissions=["change"])
    def replay(self, request, queryset):
        count = webhooks.replay_deliveries(delivery_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Queued {count} delivery(ies) again.", messages.SUCCESS)
