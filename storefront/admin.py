"""Staff screens for the catalog: products with their images, tags, flags and bulk actions.

The models are the catalog's, so the pages keep their /admin/catalog/... addresses; the module sits
here, above tagging, because every product page shows tags and analyses.

Every state change goes through a service (catalog.services, tagging.services); this module
only turns admin input into those calls and their results into messages.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog import services as catalog_services
from catalog.admin_base import ReadOnlyInline, thumbnail_html
from catalog.exceptions import ImageRejected
from catalog.images import read_upload, validate_image
from catalog.models import Category, Product, ProductImage
from llm import gateway
from tagging import selectors as tagging_selectors
from tagging import services as tagging_services
from tagging.models import Flag, ImageAnalysis, ProductTag, Tag

FACET_COLOURS = {
    "category": "#4c6ef5",
    "colour": "#e8590c",
    "material": "#2f9e44",
    "style": "#ae3ec9",
    "pattern": "#1098ad",
    "season": "#f08c00",
    "keyword": "#495057",
}


def tag_chips_html(tags_by_facet: dict, *, review_url: str = "") -> str:
    """Chips per facet: applied tags solid, tags waiting for review dashed, linking to the queue."""
    if not tags_by_facet:
        return "—"
    rows = []
    for facet, product_tags in tags_by_facet.items():
        chips = []
        for pt in product_tags:
            colour = FACET_COLOURS.get(facet, "#868e96")
            from_text = pt.evidence == ProductTag.Evidence.TEXT
            title = f"{pt.get_status_display()} · {pt.confidence:.2f}"
            if from_text:
                title += " · read from the product's text"
            name = f"{pt.tag.name} (text)" if from_text else pt.tag.name
            if pt.status == ProductTag.Status.NEEDS_REVIEW:
                chips.append(
                    format_html(
                        '<a class="ss-chip ss-chip-waiting" style="border-color:{}" title="{} (review it)" href="{}">'
                        "{} ?</a>",
                        colour,
                        title,
                        review_url,
                        name,
                    )
                )
            else:
                chips.append(
                    format_html(
                        '<span class="ss-chip ss-chip-applied" style="border-color:{}" title="{}">{}</span>',
                        colour,
                        title,
                        name,
                    )
                )
        rows.append(
            format_html(
                '<div><small style="color:{}">{}</small> {}</div>',
                FACET_COLOURS.get(facet),
                facet,
                mark_safe("".join(chips)),  # noqa: S308 — each chip is escaped by format_html above
            )
        )
    legend = (
        '<p class="ss-chip-legend"><span class="ss-chip ss-chip-applied">applied</span> '
        '<span class="ss-chip ss-chip-waiting">waiting for review ?</span></p>'
    )
    return mark_safe(legend + "".join(rows))  # noqa: S308 — each part is escaped by format_html above


def analysis_state_html(images: list[ProductImage], latest: dict[int, ImageAnalysis]) -> str:
    """One line per image: its newest analysis' state, model and, when it failed, why."""
    if not images:
        return "No images yet."
    lines = []
    for image in images:
        analysis = latest.get(image.pk)
        if analysis is None:
            lines.append(format_html("<li>Image #{}: not analysed yet</li>", image.position))
            continue
        by = f" by {analysis.model}" if analysis.model else ""
        error = f": {analysis.error_class or analysis.error[:120]}" if analysis.status == "failed" else ""
        lines.append(
            format_html(
                '<li>Image #{}: <a href="{}" class="ss-analysis-{}">{}</a>{}{} · {}</li>',
                image.position,
                reverse("admin:tagging_imageanalysis_change", args=[analysis.pk]),
                analysis.status,
                analysis.get_status_display(),
                by,
                error,
                (analysis.finished_at or analysis.created_at).strftime("%Y-%m-%d %H:%M"),
            )
        )
    return format_html('<ul class="ss-analysis-state">{}</ul>', mark_safe("".join(lines)))  # noqa: S308


class TagFilter(admin.SimpleListFilter):
    """Products carrying one applied tag of the vocabulary."""

    title = "applied tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(str(tag.pk), str(tag)) for tag in Tag.objects.canonical().only("facet", "name")]

    def queryset(self, request, queryset):
        if not self.value() or not self.value().isdigit() or len(self.value()) > 18:
            return queryset  # not a tag id the database could hold
        applied = ProductTag.objects.filter(product=OuterRef("pk"), tag_id=self.value(), status="applied")
        return queryset.filter(Exists(applied))


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "name", "slug", "product_count")
    search_fields = ("name", "path")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="products", ordering="_product_count")
    def product_count(self, obj):
        return obj._product_count


class ProductImageForm(forms.ModelForm):
    """Uploads go through catalog.services.add_product_image; refusals become form errors."""

    upload = forms.FileField(required=False, help_text="JPEG, PNG or WebP, at most 20 MB.")

    class Meta:
        model = ProductImage
        fields = ("position",)

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if self.instance.pk is None and not upload and self.has_changed():
            raise ValidationError("Choose an image file to upload.")
        if upload:
            # Validated here so a refusal is a form error; the service validates again on save.
            try:
                validate_image(read_upload(upload))
            except ImageRejected as rejected:
                self.add_error("upload", str(rejected))
            upload.seek(0)
        return cleaned

    def save(self, commit: bool = True) -> ProductImage:
        """A new image is stored by the service (file, checksums and row together); an existing
        one only changes position. The admin's inline formset calls this for every changed row."""
        upload = self.cleaned_data.get("upload")
        if self.instance.pk is None and upload:
            if not commit:
                raise ValueError("A new image is stored by catalog.services.add_product_image: save with commit=True.")
            self.instance = catalog_services.add_product_image(
                product=self.instance.product, upload=upload, position=self.cleaned_data.get("position")
            )
        elif commit:
            self.instance.save(update_fields=["position"])
        return self.instance


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ("thumbnail", "upload", "position", "format", "width", "height", "file_size")
    readonly_fields = ("thumbnail", "format", "width", "height", "file_size")

    @admin.display(description="image")
    def thumbnail(self, obj):
        return thumbnail_html(obj) if obj and obj.pk else "—"


class FlagInline(ReadOnlyInline):
    model = Flag

    fields = ("kind", "reason", "confidence", "status", "image", "cleared_by", "cleared_at", "created_at")
    show_change_link = True


class HasOpenFlagFilter(admin.SimpleListFilter):
    title = "open flags"
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return (
            ("any", "Any open flag"),
            ("prohibited", "Prohibited content"),
            ("quality", "Low quality"),
            ("none", "None"),
        )

    def queryset(self, request, queryset):
        value = self.value()
        if value == "any":
            return queryset.filter(flags__status="open").distinct()
        if value in ("prohibited", "quality"):
            return queryset.filter(flags__status="open", flags__kind=value).distinct()
        if value == "none":
            return queryset.exclude(flags__status="open")
        return queryset


class PendingReviewFilter(admin.SimpleListFilter):
    title = "tags waiting for review"
    parameter_name = "pending"

    def lookups(self, request, model_admin):
        return (("yes", "Some waiting"), ("no", "None waiting"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(product_tags__status="needs_review").distinct()
        if self.value() == "no":
            return queryset.exclude(product_tags__status="needs_review")
        return queryset


# Analyses go down this route unless staff pick another on the confirmation page; routes'
# models, fallbacks and canary are edited under "Model gateway".
RETAG_ROUTE = "vision-tagging"


class RetagForm(forms.Form):
    workflow = forms.ChoiceField(choices=ImageAnalysis.Workflow.choices, initial=ImageAnalysis.Workflow.FULL)
    route = forms.ChoiceField(
        required=False,
        initial=RETAG_ROUTE,
        label="Route (models tried in order)",
        help_text="To pin one model, give it a route of its own under Model gateway.",
    )

    def __init__(self, *args, routes=(), **kwargs):
        super().__init__(*args, **kwargs)
        unconfigured = " (no API key: the local analyser answers)"
        self.fields["route"].choices = [
            (option.name, option.label if option.configured else option.label + unconfigured) for option in routes
        ]

    def clean_route(self) -> str:
        return self.cleaned_data["route"] or RETAG_ROUTE


class ProductForm(forms.ModelForm):
    """The change form keeps the rule the Publish action and the API keep: no release past an open flag."""

    class Meta:
        model = Product
        fields = ("status",)  # ProductAdmin.fields lists the rest

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        product = self.instance
        if (
            status == Product.Status.ACTIVE
            and product.pk is not None
            and Flag.objects.filter(product=product, status=Flag.Status.OPEN, kind=Flag.Kind.PROHIBITED).exists()
        ):
            raise ValidationError("This product has an open prohibited-content flag: clear the flag first.")
        return status


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = (
        "sku",
        "first_thumbnail",
        "title",
        "category",
        "status",
        "price",
        "waiting",
        "open_flags",
        "created_at",
    )
    list_display_links = ("sku", "title")
    list_filter = ("status", HasOpenFlagFilter, PendingReviewFilter, TagFilter, "category", "created_at")
    search_fields = ("sku", "title")
    search_help_text = "SKU, title or the name of an applied tag."
    list_select_related = ("category",)
    list_per_page = 50
    autocomplete_fields = ("category",)
    readonly_fields = ("tag_chips", "analysis_state", "hold_reason", "created_at", "updated_at")
    fields = (
        ("sku", "status"),
        "title",
        "description",
        ("price", "currency"),
        "category",
        "hold_reason",
        "tag_chips",
        "analysis_state",
        ("created_at", "updated_at"),
    )
    inlines = (ProductImageInline, FlagInline)
    actions = ("retag_with_ai", "approve_all_pending", "hold_products", "publish_products", "clear_flags")

    class Media:
        css = {"all": ("shelfsight/staff.css",)}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _waiting=Count("product_tags", filter=Q(product_tags__status="needs_review"), distinct=True),
                _open_flags=Count("flags", filter=Q(flags__status="open"), distinct=True),
            )
            .prefetch_related("images")
        )

    @admin.display(description="image")
    def first_thumbnail(self, obj):
        images = list(obj.images.all())
        return thumbnail_html(images[0], 40) if images else "—"

    @admin.display(description="waiting", ordering="_waiting")
    def waiting(self, obj):
        return obj._waiting

    @admin.display(description="open flags", ordering="_open_flags")
    def open_flags(self, obj):
        if not obj._open_flags:
            return 0
        return format_html('<strong style="color:#c92a2a">{}</strong>', obj._open_flags)

    @admin.display(description="tags by facet")
    def tag_chips(self, obj):
        if obj.pk is None:
            return "—"
        grouped: dict[str, list] = {}
        tags = (
            ProductTag.objects.filter(product=obj)
            .exclude(status__in=["rejected", "superseded"])
            .select_related("tag")
            .order_by("tag__facet", "-confidence")
        )
        for product_tag in tags:
            grouped.setdefault(product_tag.tag.facet, []).append(product_tag)
        return tag_chips_html(grouped, review_url=f"{reverse('tagging:review-queue')}?product={obj.pk}")

    @admin.display(description="analysis")
    def analysis_state(self, obj):
        if obj.pk is None:
            return "—"
        images = list(obj.images.order_by("position", "id"))
        latest: dict[int, ImageAnalysis] = {}
        for analysis in ImageAnalysis.objects.filter(image__product=obj).order_by("image_id", "-created_at", "-id"):
            latest.setdefault(analysis.image_id, analysis)
        return analysis_state_html(images, latest)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            applied = ProductTag.objects.filter(product=OuterRef("pk"), status="applied", tag__name__icontains=term)
            results = results | queryset.filter(Exists(applied))
        return results, may_have_duplicates

    # --- images: uploads through the service, nothing half-saved ------------------------
    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)  # ProductImageForm.save stores uploads
        if formset.model is ProductImage and formset.new_objects:
            self.message_user(request, _queued_message(len(formset.new_objects)), messages.INFO)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The form already validated the upload; if the service still refuses it (bytes changed
        # under us), the whole save rolls back and staff see why instead of a server error.
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except ImageRejected as rejected:
            self.message_user(request, f"Image refused: {rejected} Nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # --- actions ----------------------------------------------------------------------
    @admin.action(description="Re-tag with AI…", permissions=["change"])
    def retag_with_ai(self, request, queryset):
        image_ids = list(ProductImage.objects.filter(product__in=queryset).values_list("id", flat=True))
        submitted = "confirm" in request.POST or "estimate" in request.POST
        form = RetagForm(request.POST if submitted else None, routes=tagging_selectors.analysis_routes())
        route = form.cleaned_data["route"] if submitted and form.is_valid() else RETAG_ROUTE
        # Confirming only queues what the page showed a cost for; a route changed without
        # "Update estimate" shows the new estimate first.
        estimated_for = request.POST.get("estimated_route") or route
        if "confirm" in request.POST and form.is_valid() and estimated_for == route:
            queued = tagging_services.enqueue_retag(
                image_ids=image_ids, workflow=form.cleaned_data["workflow"], requested_by=request.user, route=route
            )
            self.message_user(
                request,
                f"Queued {queued} image(s) for re-tagging ({form.cleaned_data['workflow']} workflow, route {route}).",
                messages.SUCCESS,
            )
            return None
        estimate = tagging_services.estimate_analysis_cost(image_count=len(image_ids), route=route)
        context = {
            **self.admin_site.each_context(request),
            "title": "Re-tag with AI",
            "opts": self.model._meta,
            "products": queryset,
            "product_count": queryset.count(),
            "image_count": len(image_ids),
            "estimated_cost": estimate,
            "primary_model": _primary_model(route),
            "route": route,
            "route_changed": "confirm" in request.POST and estimated_for != route,
            "uses_provider": _route_is_configured(route),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        }
        return TemplateResponse(request, "admin/catalog/product/retag_confirmation.html", context)

    @admin.action(description="Approve all tags waiting for review", permissions=["change"])
    def approve_all_pending(self, request, queryset):
        ids = list(
            ProductTag.objects.filter(product__in=queryset, status=ProductTag.Status.NEEDS_REVIEW).values_list(
                "id", flat=True
            )
        )
        approved = tagging_services.approve_tags(product_tag_ids=ids, reviewer=request.user) if ids else 0
        self.message_user(request, f"Approved {approved} tag(s) on {queryset.count()} product(s).", messages.SUCCESS)

    @admin.action(description="Hold (hide from the storefront)", permissions=["change"])
    def hold_products(self, request, queryset):
        count = 0
        for product in queryset:
            catalog_services.set_product_status(product=product, status=Product.Status.HELD, reason="Held by staff")
            count += 1
        self.message_user(request, f"Held {count} product(s).", messages.SUCCESS)

    @admin.action(description="Publish (make active)", permissions=["change"])
    def publish_products(self, request, queryset):
        blocked = set(
            Flag.objects.filter(product__in=queryset, status=Flag.Status.OPEN, kind=Flag.Kind.PROHIBITED).values_list(
                "product_id", flat=True
            )
        )
        published = 0
        for product in queryset.exclude(pk__in=blocked):
            catalog_services.set_product_status(product=product, status=Product.Status.ACTIVE)
            published += 1
        self.message_user(request, f"Published {published} product(s).", messages.SUCCESS)
        if blocked:
            self.message_user(
                request,
                f"{len(blocked)} product(s) stay held: clear their prohibited-content flags first.",
                messages.WARNING,
            )

    @admin.action(description="Clear open flags", permissions=["change"])
    def clear_flags(self, request, queryset):
        flag_ids = list(Flag.objects.filter(product__in=queryset, status=Flag.Status.OPEN).values_list("id", flat=True))
        for flag_id in flag_ids:
            tagging_services.clear_flag(flag_id=flag_id, reviewer=request.user)
        self.message_user(request, f"Cleared {len(flag_ids)} flag(s).", messages.SUCCESS)


def _queued_message(count: int) -> str:
    analyser = (
        f"the {RETAG_ROUTE} route ({_primary_model(RETAG_ROUTE) or 'its primary model'})"
        if _route_is_configured(RETAG_ROUTE)
        else "the built-in local analyser (no model provider is configured)"
    )
    return (
        f"{count} image(s) uploaded and queued for analysis by {analyser}; tags appear once it finishes. "
        "The product page shows each image's analysis state."
    )


def _route_is_configured(route: str) -> bool:
    return gateway.is_configured(route=route)


def _primary_model(route: str) -> str:
    try:
        return gateway.primary_model(route=route)
    except Exception:  # an unconfigured route only means the estimate shows no model name
        return ""


class ImageAnalysisInline(ReadOnlyInline):
    model = ImageAnalysis
    fields = (
        "workflow",
        "status",
        "model",
        "arm_or_route",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "error",
        "created_at",
    )
    show_change_link = True

    @admin.display(description="route / arm")
    def arm_or_route(self, obj):
        arm = getattr(obj, "arm", "")
        return f"{obj.route} / {arm}" if arm else obj.route


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    """One image with every analysis of it; uploads happen on the product page."""

    list_display = ("__str__", "thumbnail", "format", "width", "height", "created_at")
    search_fields = ("product__sku", "sha256")
    list_select_related = ("product",)
    readonly_fields = ("product", "thumbnail", "sha256", "width", "height", "format", "file_size", "created_at")
    fields = ("product", "thumbnail", "position", "sha256", ("width", "height"), "format", "file_size", "created_at")
    inlines = (ImageAnalysisInline,)

    def has_add_permission(self, request):
        return False

    @admin.display(description="image")
    def thumbnail(self, obj):
        return thumbnail_html(obj, 160)
