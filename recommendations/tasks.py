"""django-q2 entry points: ids in, a service call, safe to run twice."""

from django_q.tasks import async_task

REFRESH_TASK = "recommendations.tasks.refresh_similar_products_task"


def enqueue_similar_refresh(*, product_ids: list[int]) -> str:
    return async_task(REFRESH_TASK, sorted(product_ids), task_name="refresh-similar", group="similar-products")


def refresh_similar_products_task(product_ids: list[int]) -> int:
    from recommendations.services import refresh_similar_products

    return refresh_similar_products(product_ids=product_ids)
