"""State changes of recommendations: keeping the precomputed neighbour lists current."""

from collections.abc import Callable, Iterable
from functools import cache

from django.db import transaction
from django.utils import timezone

from recommendations import similarity
from recommendations.freshness import bump_catalog_version
from recommendations.models import SimilarProduct, TagWeight
from recommendations.neighbour_rows import insert_neighbours

INSERT_BATCH = 5000


def refresh_similar_products(*, product_ids: Iterable[int]) -> int:
    """Recompute the lists of ``product_ids`` and of the products whose lists they enter or leave.

    Similarity is symmetric, so a product's new top neighbours and the products that listed it
    before are recomputed too. Global tag weights drift slowly as tags change;
    ``rebuild_similar_products``, run by the host's scheduler (docs/scaling.md), brings every
    list back to the exact figures. Returns how many lists were written.
    """
    changed = set(product_ids)
    if not changed:
        return 0
    # Both scorings below see the same active products, read at most once.
    read_active = cache(similarity.active_products)
    fresh = similarity.neighbours_of_many(product_ids=changed, read_active=read_active)
    affected = set(SimilarProduct.objects.filter(neighbour_id__in=changed).values_list("product_id", flat=True))
    affected |= {item.neighbour_id for items in fresh.values() for item in items}
    fresh |= similarity.neighbours_of_many(product_ids=affected - changed, read_active=read_active)
    with transaction.atomic():
        SimilarProduct.objects.filter(product_id__in=fresh).delete()
        insert_neighbours(item for items in fresh.values() for item in items)
    bump_catalog_version()
    return len(fresh)


def rebuild_similar_products(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every active product's list from scratch; returns how many neighbour rows exist.

    Each chunk of lists is swapped in its own short transaction, so readers always see a whole
    list and writers (on SQLite, the only writer at a time) are never locked out for long.
    """
    refresh_tag_weights()
    written, rebuilt = 0, set()
    for neighbours in similarity.all_neighbours(progress=progress):
        chunk = {item.product_id for item in neighbours}
        with transaction.atomic():
            SimilarProduct.objects.filter(product_id__in=chunk).delete()
            insert_neighbours(neighbours)
        rebuilt |= chunk
        written += len(neighbours)
    stale = set(SimilarProduct.objects.values_list("product_id", flat=True).distinct()) - rebuilt
    for start in range(0, len(stale), INSERT_BATCH):
        SimilarProduct.objects.filter(product_id__in=sorted(stale)[start : start + INSERT_BATCH]).delete()
    bump_catalog_version()
    return written


def refresh_tag_weights() -> int:
    """Recount every tag's active products and store its idf weight; returns how many tags."""
    product_count, frequencies = similarity.document_frequencies()
    now = timezone.now()
    rows = [
        TagWeight(
            tag_id=tag_id,
            document_frequency=frequency,
            weight=float(similarity.idf(product_count=product_count, document_frequency=frequency)),
            computed_at=now,
        )
        for tag_id, frequency in frequencies.items()
    ]
    with transaction.atomic():
        TagWeight.objects.all().delete()
        TagWeight.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    return len(rows)
