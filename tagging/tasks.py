"""django-q2 entry points: they take ids, call a service, and are safe to run twice."""

from django_q.tasks import async_task

ANALYSE_TASK = "tagging.tasks.analyze_image_task"
STUCK_AFTER_SECONDS = 900
DEFAULT_ROUTE = "vision-tagging"  # tagging.services.ROUTE, not imported so workers load this module cheaply


def enqueue_analysis(*, image_id: int, workflow: str = "full", force: bool = False) -> str:
    """Record the request (so a lost task is swept up) and queue it; returns the django-q2 task id."""
    from tagging.services import queue_analysis

    queue_analysis(image_id=image_id, workflow=workflow, force=force)
    return dispatch_analysis(image_id=image_id, workflow=workflow, force=force)


def dispatch_analysis(*, image_id: int, workflow: str = "full", force: bool = False, route: str = DEFAULT_ROUTE) -> str:
    return async_task(
        ANALYSE_TASK,
        image_id,
        workflow=workflow,
        force=force,
        route=route,
        task_name=f"analyse-image-{image_id}-{workflow}",
        group="image-analysis",
    )


def analyze_image_task(
    image_id: int, workflow: str = "full", force: bool = False, route: str = DEFAULT_ROUTE
) -> int | None:
    from tagging.services import analyze_image

    analysis = analyze_image(image_id=image_id, workflow=workflow, force=force, route=route)
    return analysis.pk if analysis is not None else None


def sweep_stuck_analyses_task(older_than_seconds: int = STUCK_AFTER_SECONDS) -> int:
    """Meant for a django-q2 schedule (e.g. every 5 minutes)."""
    from tagging.services import sweep_stuck_analyses

    return sweep_stuck_analyses(older_than_seconds=older_than_seconds)
