"""django-q2 entry points: they take ids, call a service, and are safe to run twice."""

from tagging import services


def analyze_images_task(analysis_ids: list[int]) -> int:
    """Run the analyses ``analysis_ids`` still to do (see services.run_analyses); returns how many ran.

    A re-delivered task (its first run's worker was killed) finishes what that run left; a
    task whose analyses are done, or running in a live run, runs nothing.
    """
    return len(services.run_analyses(analysis_ids=analysis_ids))


def retry_due_analyses_task() -> int:
    """The schedule "tagging: retry due analyses" (every minute, migration tagging 0007)."""
    return services.retry_due_analyses()
