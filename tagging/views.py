"""Staff pages served beside the admin: the review queue and the tagging dashboard."""

from collections import OrderedDict
from datetime import timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db.models import Min, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from catalog.models import ProductImage
from tagging import charts, reports
from tagging.models import Facet, Flag, ProductTag

IMAGES_PER_PAGE = 20
QUEUE_FILTERS = ("facet", "band", "model", "flag")


def _review_queue():
    from tagging import selectors

    return selectors.review_queue()


def filtered_queue(params) -> "tuple[object, dict]":
    """The review queue narrowed by the page's filters; returns (queryset, active filters)."""
    queue = _review_queue()
    active = {name: params.get(name, "") for name in QUEUE_FILTERS}
    if active["facet"]:
        queue = queue.filter(tag__facet=active["facet"])
    if active["band"]:
        queue = queue.filter(band=active["band"])
    if active["model"]:
        queue = queue.filter(Q(model=active["model"]) | Q(analysis__model=active["model"]))
    if active["flag"] == "any":
        queue = queue.filter(product__flags__status=Flag.Status.OPEN).distinct()
    elif active["flag"] in Flag.Kind.values:
        queue = queue.filter(product__flags__status=Flag.Status.OPEN, product__flags__kind=active["flag"]).distinct()
    elif active["flag"] == "none":
        queue = queue.exclude(product__flags__status=Flag.Status.OPEN)
    return queue, active


def _cards(queue, page_keys) -> list[dict]:
    """One card per (product, image): its waiting tags grouped by facet, best first."""
    if not page_keys:
        return []
    match = Q()
    for key in page_keys:
        match |= Q(product_id=key["product_id"], image_id=key["image_id"])
    cards: OrderedDict = OrderedDict(((key["product_id"], key["image_id"]), None) for key in page_keys)
    tags = (
        queue.filter(match).select_related("product", "tag", "image", "analysis").order_by("tag__facet", "-confidence")
    )
    product_ids = {key["product_id"] for key in page_keys}
    open_flags: dict[int, list[Flag]] = {}
    for flag in Flag.objects.filter(product_id__in=product_ids, status=Flag.Status.OPEN):
        open_flags.setdefault(flag.product_id, []).append(flag)
    for product_tag in tags:
        key = (product_tag.product_id, product_tag.image_id)
        card = cards.get(key)
        if card is None:
            card = cards[key] = {
                "product": product_tag.product,
                "image": product_tag.image,
                "facets": OrderedDict(),
                "models": set(),
                "flags": open_flags.get(product_tag.product_id, []),
                "tag_ids": [],
            }
        card["facets"].setdefault(product_tag.tag.get_facet_display(), []).append(product_tag)
        card["models"].add((product_tag.analysis.model if product_tag.analysis else "") or product_tag.model or "?")
        card["tag_ids"].append(product_tag.pk)
    return [
        {**card, "models": sorted(card["models"]), "tag_ids": ",".join(map(str, card["tag_ids"]))}
        for card in cards.values()
        if card is not None
    ]


@staff_member_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    queue, active = filtered_queue(request.GET)
    groups = (
        queue.values("product_id", "image_id")
        .annotate(first_waiting=Min("created_at"))
        .order_by("first_waiting", "product_id", "image_id")
    )
    page = Paginator(groups, IMAGES_PER_PAGE).get_page(request.GET.get("page"))
    all_models = sorted(
        {model for model in _review_queue().order_by().values_list("model", flat=True).distinct() if model}
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **admin.site.each_context(request),
        "title": "Review queue",
        "page": page,
        "cards": _cards(queue, list(page.object_list)),
        "waiting": reports.waiting_count(),
        "matching": page.paginator.count,
        "active": active,
        "facets": Facet.choices,
        "bands": ProductTag.Band.choices,
        "models": all_models,
        "flag_choices": [("any", "Any open flag"), *Flag.Kind.choices, ("none", "No open flag")],
        "query": query.urlencode(),
    }
    return render(request, "staff/review_queue.html", context)


def _parse_decision(request: HttpRequest) -> tuple[str, list[int]] | None:
    verb, _, target = request.POST.get("decision", "").partition(":")
    if verb not in ("approve", "reject"):
        return None
    raw_ids = request.POST.getlist("product_tag_ids") if target == "selected" else target.split(",")
    try:
        return verb, [int(value) for value in raw_ids if value.strip()]
    except ValueError:
        return None


@staff_member_required
@require_POST
def review_decide(request: HttpRequest) -> HttpResponse:
    """Approve or reject tags: ``decision`` is ``approve:<ids>``, ``reject:<ids>`` or ``…:selected``."""
    parsed = _parse_decision(request)
    if parsed is None:
        return HttpResponseBadRequest("decision must be approve:<ids> or reject:<ids>")
    from tagging import services

    verb, ids = parsed
    decide = services.approve_tags if verb == "approve" else services.reject_tags
    count = decide(product_tag_ids=ids, reviewer=request.user) if ids else 0
    decided = dict(ProductTag.objects.filter(pk__in=ids).values_list("pk", "status"))
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"decision": verb, "count": count, "statuses": decided, "waiting": reports.waiting_count()})
    past = "Approved" if verb == "approve" else "Rejected"
    messages.success(request, f"{past} {count} tag(s).")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "tagging:review-queue"
    return redirect(next_url)


@staff_member_required
@require_GET
def image_thumbnail(request: HttpRequest, image_id: int) -> FileResponse:
    """Stream an image to staff even where MEDIA_URL is not served (e.g. behind gunicorn)."""
    image = get_object_or_404(ProductImage, pk=image_id)
    try:
        handle = image.image.open("rb")
    except FileNotFoundError:
        raise Http404("The image file is missing.") from None
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(image.format)
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


DASHBOARD_PERIODS = (1, 7, 14, 30, 90)


@staff_member_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    from llm import selectors as llm_selectors

    try:
        days = int(request.GET.get("days", 14))
    except ValueError:
        days = 14
    days = days if days in DASHBOARD_PERIODS else 14
    since = timezone.now() - timedelta(days=days)

    spend_rows = llm_selectors.spend_by_day_and_model(since=since)
    day_labels = sorted({_day_label(row["day"]) for row in spend_rows})
    spend_models = sorted({row["model"] for row in spend_rows})
    spend = {model: [Decimal(0)] * len(day_labels) for model in spend_models}
    calls = {model: [0] * len(day_labels) for model in spend_models}
    for row in spend_rows:
        index = day_labels.index(_day_label(row["day"]))
        spend[row["model"]][index] += Decimal(row["cost_usd"] or 0)
        calls[row["model"]][index] += row["calls"] or 0

    health = list(llm_selectors.model_health(since=since))
    agreement = reports.agreement_by_model(since=since)
    backlog = reports.review_backlog()
    canary = list(llm_selectors.canary_arms(route="vision-tagging"))
    context = {
        **admin.site.each_context(request),
        "title": "Tagging dashboard",
        "days": days,
        "periods": DASHBOARD_PERIODS,
        "since": since,
        "spend_chart": charts.stacked_bars(categories=day_labels, series=spend, unit="$"),
        "calls_chart": charts.stacked_bars(categories=day_labels, series=calls),
        "latency_chart": charts.horizontal_bars(
            rows=[(row["model"], (row["p50_ms"] or 0, row["p95_ms"] or 0)) for row in health],
            series_names=("p50", "p95"),
            unit=" ms",
        ),
        "error_chart": charts.horizontal_bars(
            rows=[(row["model"], (100 * (row["error_rate"] or 0),)) for row in health],
            series_names=("error rate",),
            unit="%",
        ),
        "agreement_chart": charts.horizontal_bars(
            rows=[(row["model"], (row["approved"], row["rejected"])) for row in agreement],
            series_names=("approved", "rejected"),
        ),
        "backlog_chart": charts.horizontal_bars(
            rows=[(facet, (count,)) for facet, count in backlog["by_facet"].items()], series_names=("waiting",)
        ),
        "health": health,
        "agreement": agreement,
        "backlog": backlog,
        "canary": canary,
        "canary_events": list(llm_selectors.canary_events(limit=10)),
        "summary": reports.analysis_summary(since=since),
        "total_spend": sum((Decimal(row["cost_usd"] or 0) for row in spend_rows), Decimal(0)),
        "total_calls": sum(row["calls"] or 0 for row in spend_rows),
    }
    return render(request, "staff/dashboard.html", context)


def _day_label(day) -> str:
    return day.isoformat()[:10] if hasattr(day, "isoformat") else str(day)[:10]
