from django import template

from llm import gateway
from tagging import reports
from tagging.services import ROUTE

register = template.Library()


@register.simple_tag
def review_waiting_count() -> int:
    """How many tags wait for staff, for the admin index."""
    return reports.waiting_count()


@register.inclusion_tag("staff/_analyser_notice.html")
def analyser_notice() -> dict:
    """Say plainly when no provider can be called: the local analyser does the tagging then."""
    if gateway.is_configured(route=ROUTE):
        return {"local_only": False}
    return {"local_only": True, "route": ROUTE, "local_analyses": reports.local_analysis_count()}
