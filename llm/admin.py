"""Gateway configuration and call log in the admin. Keys are never shown: only the variable's
name and whether it is set."""

from datetime import timedelta

from django.contrib import admin, messages
from django.db import models
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from llm import config, selectors
from llm.models import CanaryEvent, LLMCall, ModelDeployment, Provider, Route, RouteStep
from llm.seeds import KNOWN_ROUTES

WINDOWS = {"1": 1, "7": 7, "30": 30}


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "endpoint", "api_key_env", "key_is_set", "timeout", "max_concurrency", "enabled"]
    list_editable = ["enabled"]
    fields = ["name", "base_url", "api_key_env", "key_is_set", "timeout", "max_retries", "max_concurrency", "enabled"]
    readonly_fields = ["key_is_set"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="endpoint")
    def endpoint(self, provider: Provider) -> str:
        return provider.base_url or "OPENAI_BASE_URL setting"

    @admin.display(boolean=True, description="key set")
    def key_is_set(self, provider: Provider) -> bool:
        if not provider.api_key_env:
            return False
        return bool(config.ProviderConfig(name=provider.name, api_key_env=provider.api_key_env).api_key())


NO_PRICE = "NO PRICE: not called until one is set"


def warn_of_unpriced(request, deployments) -> None:
    """An error message naming every enabled deployment the gateway will not call for want of a price."""
    names = sorted({str(deployment) for deployment in deployments if deployment.enabled and not deployment.has_price})
    if names:
        messages.error(
            request,
            f"No price set for {', '.join(names)}: the gateway does not call these models (their cost would "
            "be recorded as $0) until both prices are set, 0 for a free model.",
        )


@admin.register(ModelDeployment)
class ModelDeploymentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "provider",
        "tier",
        "input_price",
        "output_price",
        "supports_vision",
        "supports_json_schema",
        "enabled",
    ]
    list_editable = ["enabled"]
    list_filter = ["provider", "tier", "enabled"]
    list_select_related = ["provider"]
    search_fields = ["name", "provider__name"]

    @admin.display(description="input $/Mtok", ordering="input_price_per_mtok")
    def input_price(self, deployment: ModelDeployment) -> str:
        return NO_PRICE if deployment.input_price_per_mtok is None else str(deployment.input_price_per_mtok)

    @admin.display(description="output $/Mtok", ordering="output_price_per_mtok")
    def output_price(self, deployment: ModelDeployment) -> str:
        return NO_PRICE if deployment.output_price_per_mtok is None else str(deployment.output_price_per_mtok)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            warn_of_unpriced(request, ModelDeployment.objects.select_related("provider"))
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            warn_of_unpriced(request, ModelDeployment.objects.select_related("provider").filter(pk=object_id))
        return super().change_view(request, object_id, form_url, extra_context)


class RouteStepInline(admin.TabularInline):
    model = RouteStep
    extra = 1
    ordering = ["position"]
    autocomplete_fields = ["deployment"]


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["name", "strategy", "canary", "canary_percent", "daily_budget_usd", "monthly_budget_usd", "enabled"]
    list_editable = ["canary_percent", "enabled"]
    list_select_related = ["canary__provider"]
    inlines = [RouteStepInline]
    fieldsets = [
        (None, {"fields": ["name", "strategy", "default_tier", "enabled"]}),
        ("Canary", {"fields": ["canary", "canary_percent", "canary_max_error_rate", "canary_max_p95_ratio",
                               "canary_window", "canary_min_calls"]}),
        ("Budget", {"fields": ["daily_budget_usd", "monthly_budget_usd", "over_budget"]}),
        ("Circuit breaker", {"fields": ["breaker_failures", "breaker_cooldown_seconds"]}),
    ]  # fmt: skip

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            used = ModelDeployment.objects.select_related("provider").filter(route_steps__route_id=object_id)
            canary = ModelDeployment.objects.select_related("provider").filter(canary_routes__id=object_id)
            warn_of_unpriced(request, [*used, *canary])
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        previous = Route.objects.filter(pk=obj.pk).values_list("canary_percent", flat=True).first() if change else 0
        super().save_model(request, obj, form, change)
        if previous is not None and previous != obj.canary_percent:
            CanaryEvent.objects.create(
                route=obj.name,
                model=obj.canary.name if obj.canary else "",
                kind=CanaryEvent.Kind.CHANGE,
                previous_percent=previous,
                new_percent=obj.canary_percent,
                reason=f"changed in the admin by {request.user.get_username()}"[:300],
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CanaryEvent)
class CanaryEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "route", "model", "kind", "previous_percent", "new_percent", "reason"]
    list_filter = ["route", "kind"]


@admin.register(LLMCall)
class LLMCallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "route",
        "model",
        "arm",
        "tier",
        "attempt",
        "outcome",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "fallback_reason",
    ]
    list_filter = ["route", "outcome", "arm", "tier", "model"]
    search_fields = ["request_id", "model", "error_class"]
    date_hierarchy = "created_at"
    change_list_template = "admin/llm/llmcall/change_list.html"

    def get_urls(self):
        extra = [
            path("spend/", self.admin_site.admin_view(self.spend_view), name="llm_llmcall_spend"),
            path("health/", self.admin_site.admin_view(self.health_view), name="llm_llmcall_health"),
            path("canary/", self.admin_site.admin_view(self.canary_view), name="llm_llmcall_canary"),
        ]
        return extra + super().get_urls()

    def _context(self, request, title: str) -> dict:
        days = WINDOWS.get(request.GET.get("days", "7"), 7)
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "days": days,
            "windows": WINDOWS.values(),
            "since": timezone.now() - timedelta(days=days),
        }

    def spend_view(self, request):
        context = self._context(request, "Model spend per day and model")
        context["rows"] = selectors.spend_by_day_and_model(since=context["since"])
        return TemplateResponse(request, "admin/llm/spend.html", context)

    def health_view(self, request):
        context = self._context(request, "Model error rate and latency")
        context["rows"] = selectors.model_health(since=context["since"])
        return TemplateResponse(request, "admin/llm/health.html", context)

    def canary_view(self, request):
        context = self._context(request, "Canary arms")
        names = list(dict.fromkeys([*KNOWN_ROUTES, *Route.objects.values_list("name", flat=True)]))
        context["routes"] = [{"name": name, "arms": selectors.canary_arms(route=name)} for name in names]
        context["events"] = selectors.canary_events(limit=20)
        return TemplateResponse(request, "admin/llm/canary.html", context)
