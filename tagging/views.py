"""Staff pages served beside the admin: the review queue and the tagging dashboard."""

from collections import OrderedDict
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db.models import Min, Q, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from catalog.models import ProductImage
from llm import gateway
from llm import selectors as llm_selectors
from tagging import charts, reports, selectors, services
from tagging.models import Facet, Flag, ProductTag
from tagging.services import ROUTE

IMAGES_PER_PAGE = 20
QUEUE_FILTERS = ("facet", "band", "model", "flag", "product")
# Database ids are 64-bit; anything outside is refused before it reaches a query.
MAX_ID = 2**63 - 1
MAX_IDS_PER_DECISION = 1000
# Decisions a reviewer can take back from the queue, newest last (kept in the session).
UNDO_SESSION_KEY = "review_undo"
UNDO_DEPTH = 10

REVIEW_PERMISSIONS = ("tagging.view_producttag", "tagging.change_producttag")
DECIDE_PERMISSION = "tagging.change_producttag"
IMAGE_PERMISSION = "catalog.view_productimage"
DASHBOARD_PERMISSIONS = ("tagging.view_imageanalysis", "llm.view_llmcall")


def staff_with(*perms: str):
    """Staff only (others go to the login page), and only those holding ``perms`` (others get 403)."""

    def decorate(view):
        return staff_member_required(permission_required(perms, raise_exception=True)(view))

    return decorate


def filtered_queue(params) -> "tuple[object, dict]":
    """The review queue narrowed by the page's filters; returns (queryset, active filters)."""
    queue = selectors.review_queue()
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
    if active["product"]:
        product_id = _bounded_id(active["product"])
        queue = queue.filter(product_id=product_id) if product_id is not None else queue.none()
    return queue, active


def _bounded_id(value: str) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None


def _queue_position(groups, after: str):
    """The image groups after ``after`` ("<first waiting>|<product id>|<image id>"), in queue order.

    Paging by position rather than by page number: deciding images shrinks the queue, and an
    offset would then jump over the images that moved up. Groups whose first waiting tag was
    decided only move later, so an image is never skipped without being shown.
    """
    parts = after.split("|")
    if len(parts) != 3:
        return groups
    first_waiting = parse_datetime(parts[0])
    product_id, image_key = _bounded_id(parts[1]), _bounded_id(parts[2]) if parts[2] != "0" else 0
    if first_waiting is None or product_id is None or image_key is None:
        return groups
    return groups.filter(
        Q(first_waiting__gt=first_waiting)
        | Q(first_waiting=first_waiting, product_id__gt=product_id)
        | Q(first_waiting=first_waiting, product_id=product_id, image_key__gt=image_key)
    )


def _cursor(group: dict) -> str:
    first_waiting: datetime = group["first_waiting"]
    return f"{first_waiting.isoformat()}|{group['product_id']}|{group['image_key']}"


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


@staff_with(*REVIEW_PERMISSIONS)
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    queue, active = filtered_queue(request.GET)
    groups = (
        queue.values("product_id", "image_id")
        .annotate(first_waiting=Min("created_at"), image_key=Coalesce("image_id", Value(0)))
        .order_by("first_waiting", "product_id", "image_key")
    )
    after = request.GET.get("after", "")
    shown = list(_queue_position(groups, after)[: IMAGES_PER_PAGE + 1])
    has_next, shown = len(shown) > IMAGES_PER_PAGE, shown[:IMAGES_PER_PAGE]
    all_models = sorted(
        {model for model in selectors.review_queue().order_by().values_list("model", flat=True).distinct() if model}
    )
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("page", None)
    context = {
        **admin.site.each_context(request),
        "title": "Review queue",
        "cards": _cards(queue, shown),
        "waiting": reports.waiting_count(),
        "matching": groups.count(),
        "after": after,
        "next_cursor": _cursor(shown[-1]) if has_next else "",
        "active": active,
        "facets": Facet.choices,
        "bands": ProductTag.Band.choices,
        "models": all_models,
        "flag_choices": [("any", "Any open flag"), *Flag.Kind.choices, ("none", "No open flag")],
        "query": query.urlencode(),
        "undo_available": bool(request.session.get(UNDO_SESSION_KEY)),
    }
    return render(request, "staff/review_queue.html", context)


def _parse_decision(request: HttpRequest) -> tuple[str, list[int]] | None:
    verb, _, target = request.POST.get("decision", "").partition(":")
    if verb not in ("approve", "reject"):
        return None
    raw_ids = request.POST.getlist("product_tag_ids") if target == "selected" else target.split(",")
    ids = [_bounded_id(value.strip()) for value in raw_ids if value.strip()]
    if None in ids or len(ids) > MAX_IDS_PER_DECISION:
        return None
    return verb, ids


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("tagging:review-queue")
    return redirect(next_url)


@staff_with(DECIDE_PERMISSION)
@require_POST
def review_decide(request: HttpRequest) -> HttpResponse:
    """Approve or reject tags: ``decision`` is ``approve:<ids>``, ``reject:<ids>`` or ``…:selected``."""
    parsed = _parse_decision(request)
    if parsed is None:
        return HttpResponseBadRequest(
            f"decision must be approve:<ids> or reject:<ids>, with at most {MAX_IDS_PER_DECISION} "
            f"ids between 1 and {MAX_ID}"
        )
    verb, ids = parsed
    decide = services.approve_tags if verb == "approve" else services.reject_tags
    count = decide(product_tag_ids=ids, reviewer=request.user) if ids else 0
    if count:
        undo = [*request.session.get(UNDO_SESSION_KEY, []), ids][-UNDO_DEPTH:]
        request.session[UNDO_SESSION_KEY] = undo
    decided = dict(ProductTag.objects.filter(pk__in=ids).values_list("pk", "status"))
    if _wants_json(request):
        return JsonResponse(
            {
                "decision": verb,
                "count": count,
                "statuses": decided,
                "waiting": reports.waiting_count(),
                "undo": len(request.session.get(UNDO_SESSION_KEY, [])),
            }
        )
    past = "Approved" if verb == "approve" else "Rejected"
    messages.success(request, f"{past} {count} tag(s).")
    return _back_to_queue(request)


@staff_with(DECIDE_PERMISSION)
@require_POST
def review_undo(request: HttpRequest) -> HttpResponse:
    """Take back this reviewer's latest decision: its tags wait for review again."""
    stack = list(request.session.get(UNDO_SESSION_KEY, []))
    ids = stack.pop() if stack else []
    request.session[UNDO_SESSION_KEY] = stack
    count = services.undo_decisions(product_tag_ids=ids, reviewer=request.user) if ids else 0
    if _wants_json(request):
        statuses = dict(ProductTag.objects.filter(pk__in=ids).values_list("pk", "status"))
        return JsonResponse(
            {"count": count, "statuses": statuses, "waiting": reports.waiting_count(), "undo": len(stack)}
        )
    if ids:
        messages.success(request, f"Undone: {count} tag(s) wait for review again.")
    else:
        messages.warning(request, "There is no decision to undo.")
    return _back_to_queue(request)


@staff_with(IMAGE_PERMISSION)
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


@staff_with(*DASHBOARD_PERMISSIONS)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
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

    month_days = [label[5:] for label in day_labels]  # "12-03": the period says the year
    health = list(llm_selectors.model_health(since=since))
    agreement = reports.agreement_by_model(since=since)
    backlog = reports.review_backlog()
    canary = list(llm_selectors.canary_arms(route=ROUTE))
    context = {
        **admin.site.each_context(request),
        "title": "Tagging dashboard",
        "days": days,
        "periods": DASHBOARD_PERIODS,
        "since": since,
        "spend_chart": charts.stacked_bars(categories=month_days, series=spend, unit="$"),
        "calls_chart": charts.stacked_bars(categories=month_days, series=calls),
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
        "provider_configured": gateway.is_configured(route=ROUTE),
        "canary_events": list(llm_selectors.canary_events(limit=10)),
        "summary": reports.analysis_summary(since=since),
        "total_spend": sum((Decimal(row["cost_usd"] or 0) for row in spend_rows), Decimal(0)),
        "total_calls": sum(row["calls"] or 0 for row in spend_rows),
    }
    return render(request, "staff/dashboard.html", context)


def _day_label(day) -> str:
    return day.isoformat()[:10] if hasattr(day, "isoformat") else str(day)[:10]
