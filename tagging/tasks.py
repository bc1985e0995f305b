"""django-q2 entry points: they take ids, call a service, and are safe to run twice."""

from config.queue import enqueue

ANALYSE_TASK = "tagging.tasks.analyze_image_task"
STUCK_AFTER_SECONDS = 900
DEFAULT_ROUTE = "vision-tagging"  # tagging.services.ROUTE, not imported so workers load this module cheaply


def enqueue_analysis(*, image_id: int, workflow: str = "full", force: bool = False) -> str:
    """Record the request (so a lost task is swept up) and queue it; returns the django-q2 task id."""
    from tagging.services import queue_analysis

    queue_analysis(image_id=image_id, workflow=workflow, force=force)
    return dispatch_analysis(image_id=image_id, workflow=workflow, force=force)


def dispatch_analysis(
    *,
    image_id: int,
    workflow: str = "full",
    force: bool = False,
    route: str = DEFAULT_ROUTE,
    along: list[int] | None = None,
    queue: str = "",
) -> str:
    """Queue the task; ``along`` names the queued analyses (by id, this image's first) that only
    this task answers for.

    ``queue`` names a django-q2 queue other than the default (the cluster started with
    Q_CLUSTER_NAME set to it serves it)."""
    extra: dict = {"along": along} if along else {}
    if queue:
        extra["cluster"] = queue
    return enqueue(
        ANALYSE_TASK,
        image_id,
        workflow=workflow,
        force=force,
        route=route,
        task_name=f"analyse-image-{image_id}-{workflow}",
        group="image-analysis",
        **extra,
    )


def analyze_image_task(
    image_id: int,
    workflow: str = "full",
    force: bool = False,
    route: str = DEFAULT_ROUTE,
    along: list[int] | None = None,
) -> int | None:
    """Analyse the image; plain analyses also take other queued images along (see tagging.batches)."""
    from tagging.batches import analyze_image_with_companions, batch_size, is_plain
    from tagging.services import analyze_image

    size = batch_size()
    if along or (size > 1 and is_plain(workflow=workflow, force=force, route=route)):
        # Room for every analysis carried along, even if this worker's batch setting is smaller.
        companions = max(size - 1, len(along or ()))
        analysis = analyze_image_with_companions(image_id=image_id, companions=companions, along=along or ())
    else:
        analysis = analyze_image(image_id=image_id, workflow=workflow, force=force, route=route)
    return analysis.pk if analysis is not None else None


def sweep_stuck_analyses_task(older_than_seconds: int = STUCK_AFTER_SECONDS) -> int:
    """Meant for a django-q2 schedule (e.g. every 5 minutes)."""
    from tagging.services import sweep_stuck_analyses

    return sweep_stuck_analyses(older_than_seconds=older_than_seconds)
