from django import template

from tagging import reports

register = template.Library()


@register.simple_tag
def review_waiting_count() -> int:
    """How many tags wait for staff, for the admin index."""
    return reports.waiting_count()
