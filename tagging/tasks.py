"""django-q2 entry points: they take ids, call a service, and are safe to run twice."""

from django_q.tasks import async_task

ANALYSE_TASK = "tagging.tasks.analyze_image_task"


def enqueue_analysis(*, image_id: int, workflow: str = "full", force: bool = False) -> str:
    """Queue one analysis of ``image_id``; returns the django-q2 task id."""
    return async_task(
        ANALYSE_TASK,
        image_id,
        workflow=workflow,
        force=force,
        task_name=f"analyse-image-{image_id}-{workflow}",
        group="image-analysis",
    )


def analyze_image_task(image_id: int, workflow: str = "full", force: bool = False) -> int | None:
    from tagging.services import analyze_image

    analysis = analyze_image(image_id=image_id, workflow=workflow, force=force)
    return analysis.pk if analysis is not None else None
