"""Reads of tagging state for the admin, the API and reports. No writes."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from catalog.models import Product
from llm import config, gateway, routing
from llm.models import Route
from tagging.models import ImageAnalysis, ProductTag
from tagging.services import ROUTE


def applied_tags_by_facet(*, product: Product) -> dict[str, list[ProductTag]]:
    """The product's applied tags grouped by facet, most confident first."""
    grouped: dict[str, list[ProductTag]] = defaultdict(list)
    rows = (
        ProductTag.objects.filter(product=product, status=ProductTag.Status.APPLIED)
        .select_related("tag")
        .order_by("tag__facet", "-confidence", "tag__name")
    )
    for row in rows:
        grouped[row.tag.facet].append(row)
    return dict(grouped)


def review_queue() -> QuerySet[ProductTag]:
    """Product tags waiting for staff, oldest first."""
    return (
        ProductTag.objects.filter(status=ProductTag.Status.NEEDS_REVIEW)
        .select_related("product", "tag", "analysis", "image")
        .order_by("created_at", "id")
    )


def product_quality(*, product: Product) -> float | None:
    """The mean of each image's latest quality score (0–10); None before any image is scored."""
    latest: dict[int, float] = {}
    rows = (
        ImageAnalysis.objects.filter(image__product=product, quality_score__isnull=False)
        .order_by("image_id", "-finished_at", "-id")
        .values_list("image_id", "quality_score")
    )
    for image_id, score in rows:
        latest.setdefault(image_id, score)
    if not latest:
        return None
    return round(sum(latest.values()) / len(latest), 2)


@dataclass(frozen=True)
class RouteOption:
    """A gateway route an image analysis can go down, with the vision models it tries in order."""

    name: str
    models: tuple[str, ...]
    configured: bool

    @property
    def label(self) -> str:
        return f"{self.name} — {' → '.join(self.models)}" if self.models else self.name


def analysis_routes() -> list[RouteOption]:
    """The default tagging route first, then every other enabled route with a vision model.

    Staff pin a model by giving it a route of its own under "Model gateway"; the route, not a
    model name, is what an analysis asks for, so fallbacks, budgets and the call log still apply.
    """
    others = Route.objects.filter(enabled=True).exclude(name=ROUTE).order_by("name").values_list("name", flat=True)
    options = []
    for name in [ROUTE, *others]:
        route_config = config.route_config(name)
        steps = routing.plan(route_config, routing_key="", tier=None, needs_vision=True) if route_config.enabled else []
        if not steps and name != ROUTE:
            continue
        models = tuple(dict.fromkeys(step.deployment.model for step in steps))
        options.append(RouteOption(name=name, models=models, configured=gateway.is_configured(route=name)))
    return options
