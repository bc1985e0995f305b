"""Read-only figures about tagging for the dashboard and `tagging_report`: no writes here."""

from datetime import datetime

from django.db.models import Count, F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from tagging.analysis.local import ANALYSER_NAME as LOCAL_ANALYSER
from tagging.models import Flag, ImageAnalysis, ProductTag


def review_backlog() -> dict:
    """How many AI tags wait for review, by facet and band, and how old the oldest is."""
    waiting = ProductTag.objects.waiting()
    by_facet = dict(waiting.values_list("tag__facet").annotate(n=Count("id")).order_by("tag__facet"))
    by_band = dict(waiting.values_list("band").annotate(n=Count("id")).order_by("band"))
    oldest = waiting.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "waiting": sum(by_facet.values()),
        "by_facet": by_facet,
        "by_band": by_band,
        "oldest_age_hours": round((timezone.now() - oldest).total_seconds() / 3600, 1) if oldest else None,
        "images": waiting.exclude(image=None).values("image").distinct().count(),
        "open_flags": Flag.objects.open().count(),
    }


def local_analysis_count() -> int:
    return ImageAnalysis.objects.filter(analyser=LOCAL_ANALYSER).count()


def waiting_count() -> int:
    return ProductTag.objects.waiting().count()


def agreement_by_model(*, since: datetime | None = None) -> list[dict]:
    """Staff decisions on AI tags per model: approved vs rejected, and the approval share.

    The model is the analysis' model (what actually answered), falling back to the model
    recorded on the tag when the analysis is gone.
    """
    decided = ProductTag.objects.filter(source=ProductTag.Source.AI, reviewed_at__isnull=False)
    if since is not None:
        decided = decided.filter(reviewed_at__gte=since)
    rows = (
        decided.annotate(answered_by=Coalesce(NullIf(F("analysis__model"), Value("")), "model"))
        .values("answered_by")
        .annotate(
            approved=Count("id", filter=Q(status=ProductTag.Status.APPLIED)),
            rejected=Count("id", filter=Q(status=ProductTag.Status.REJECTED)),
        )
        .order_by("answered_by")
    )
    result = []
    for row in rows:
        total = row["approved"] + row["rejected"]
        result.append(
            {
                "model": row["answered_by"] or "(unknown)",
                "approved": row["approved"],
                "rejected": row["rejected"],
                "agreement": round(row["approved"] / total, 3) if total else None,
            }
        )
    return result


def analysis_summary(*, since: datetime) -> dict:
    """Analyses in the period: counts by status (and how many failed ones will be retried by
    themselves), spend, tokens and the commonest failures."""
    analyses = ImageAnalysis.objects.filter(created_at__gte=since)
    by_status = dict(analyses.values_list("status").annotate(n=Count("id")).order_by("status"))
    totals = analyses.aggregate(
        cost_usd=Coalesce(Sum("cost_usd"), 0, output_field=ImageAnalysis._meta.get_field("cost_usd")),
        input_tokens=Coalesce(Sum("input_tokens"), 0),
        output_tokens=Coalesce(Sum("output_tokens"), 0),
    )
    failures = list(
        analyses.failed()
        .values("error_class")
        .annotate(count=Count("id"))
        .order_by("-count", "error_class")[:10]
    )
    return {
        "analyses": sum(by_status.values()),
        "by_status": by_status,
        # The local analyser makes no model calls, so the call log and spend never show its work.
        "local": analyses.filter(analyser=LOCAL_ANALYSER).count(),
        "retrying": analyses.retrying().count(),
        "cost_usd": totals["cost_usd"],
        "input_tokens": totals["input_tokens"],
        "output_tokens": totals["output_tokens"],
        "failure_reasons": [{"reason": row["error_class"] or "(unknown)", "count": row["count"]} for row in failures],
    }
