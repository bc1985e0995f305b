"""Tag-overlap similarity between products, the same numbers in bulk and one product at a time.

    idf(t)     = ln((1 + N) / (1 + df(t))) + 1         N = active products, df = active products tagged t
    score(p,q) = Σ idf(t) over applied tags t shared by p and q, × CATEGORY_BOOST when p and q share a category

Only applied tags and active products count. Scores are rounded to SCORE_DECIMALS so float noise
never decides a rank, and ties go to the older product (lower id); both paths below therefore
produce identical lists.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Count
from scipy import sparse

from catalog.models import Product
from tagging.models import ProductTag

CATEGORY_BOOST = 1.5
NEIGHBOURS_KEPT = 20
SCORE_DECIMALS = 4
# Tags on more than this share of products are scored with a dense product (BLAS); the rest sparse.
DENSE_TAG_SHARE = 0.02
ROWS_PER_CHUNK = 256


@dataclass(frozen=True)
class Neighbour:
    product_id: int
    neighbour_id: int
    score: float
    rank: int


def idf(*, product_count: int, document_frequency: np.ndarray | int) -> np.ndarray | float:
    return np.log((1 + product_count) / (1 + np.asarray(document_frequency, dtype=np.float64))) + 1


def active_products() -> np.ndarray:
    """(product_id, category_id or -1) of every active product, ordered by category then id.

    Ordered here rather than in SQL: PostgreSQL puts NULL categories last and SQLite first, and
    a full rebuild needs each category, uncategorised ones (-1) included, as one sorted block.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, COALESCE(category_id, -1) FROM {Product._meta.db_table} WHERE status = %s",  # noqa: S608 - table name
            [Product.Status.ACTIVE],
        )
        active = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    return active[np.lexsort((active[:, 0], active[:, 1]))]


def _applied_rows(active: np.ndarray, tag_ids: list[int] | None = None) -> np.ndarray:
    """(product_id, tag_id, category_id or -1) for applied tags of the ``active`` products.

    Two single-table reads matched up here rather than one join. Each read has one sensible
    plan; the join, planned without fresh statistics (a catalog tagged faster than autovacuum
    analyses it, or autovacuum off), became a nested loop that rescanned the tag-status index
    once per product, so a refresh's cost grew with the square of the catalog.
    """
    if (tag_ids is not None and not tag_ids) or not len(active):
        return np.empty((0, 3), dtype=np.int64)
    sql = f"SELECT product_id, tag_id FROM {ProductTag._meta.db_table} WHERE status = %s"  # noqa: S608 - table name
    params: list = [ProductTag.Status.APPLIED]
    if tag_ids is not None:
        sql += f" AND tag_id IN ({', '.join(['%s'] * len(tag_ids))})"
        params += tag_ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        tagged = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    by_id = active[np.argsort(active[:, 0])]
    position = np.minimum(np.searchsorted(by_id[:, 0], tagged[:, 0]), len(by_id) - 1)
    kept = by_id[position, 0] == tagged[:, 0]
    return np.column_stack([tagged[kept], by_id[position[kept], 1]])


def _top_rows(scores: np.ndarray, neighbour_ids: np.ndarray, *, product_ids, limit: int) -> list[Neighbour]:
    """The best ``limit`` positive scores of each row of ``scores`` (rows are products)."""
    kept = min(limit, scores.shape[1])
    threshold = np.partition(scores, scores.shape[1] - kept, axis=1)[:, scores.shape[1] - kept]
    # Keep everything that could round to the limit-th score, then rank on rounded scores with
    # ties going to the lower id; only these few candidates are ever rounded or sorted.
    margin = 10.0**-SCORE_DECIMALS
    rows, columns = np.nonzero((scores >= (threshold - margin)[:, None]) & (scores > 0))
    boundaries = np.searchsorted(rows, np.arange(scores.shape[0] + 1))
    neighbours = []
    for row, product_id in enumerate(product_ids):
        candidates = columns[boundaries[row] : boundaries[row + 1]]
        rounded = np.round(scores[row, candidates], SCORE_DECIMALS)
        order = np.lexsort((neighbour_ids[candidates], -rounded))[:limit]
        neighbours += [
            Neighbour(int(product_id), int(neighbour_ids[candidates[index]]), float(rounded[index]), rank)
            for rank, index in enumerate(order, start=1)
        ]
    return neighbours


def document_frequencies() -> tuple[int, dict[int, int]]:
    """(active product count, {tag id: active products carrying it as an applied tag})."""
    rows = (
        ProductTag.objects.filter(status=ProductTag.Status.APPLIED, product__status=Product.Status.ACTIVE)
        .values_list("tag_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    return Product.objects.public().count(), dict(rows)


def neighbours_of_many(
    *, product_ids, limit: int = NEIGHBOURS_KEPT, read_active: Callable[[], np.ndarray] = active_products
) -> dict[int, list[Neighbour]]:
    """{product id: ranked neighbours} for the active ones among ``product_ids``.

    One read of the union of their tags' posting lists serves them all: a burst of tag changes
    touches products that share most of their tags, so scoring them together costs little
    more than scoring one. Inactive or unknown ids map to an empty list. ``read_active`` gives
    the active products (``active_products``), called only when the products have applied tags;
    a caller scoring several sets in turn can hand in one that reads them once.
    """
    wanted = dict(Product.objects.public().filter(pk__in=set(product_ids)).values_list("id", "category_id"))
    found: dict[int, list[Neighbour]] = {product_id: [] for product_id in product_ids}
    own = np.array(
        ProductTag.objects.filter(product_id__in=list(wanted), status=ProductTag.Status.APPLIED).values_list(
            "product_id", "tag_id"
        ),
        dtype=np.int64,
    ).reshape(-1, 2)
    tag_ids = sorted(set(own[:, 1].tolist()))
    if not tag_ids:
        return found
    active = read_active()
    rows = _applied_rows(active, tag_ids)
    if not len(rows):
        return found
    tags, row_tag = np.unique(rows[:, 1], return_inverse=True)
    weights = idf(product_count=len(active), document_frequency=np.bincount(row_tag))
    neighbour_ids, row_neighbour = np.unique(rows[:, 0], return_inverse=True)
    posting = sparse.csr_matrix(
        (weights[row_tag], (row_neighbour, row_tag)), shape=(len(neighbour_ids), len(tags))
    ).T.tocsr()
    categories = np.full(len(neighbour_ids), -1, dtype=np.int64)
    categories[row_neighbour] = rows[:, 2]
    own = np.unique(own, axis=0)
    queried = np.unique(own[:, 0])
    query = sparse.csr_matrix(
        (np.ones(len(own)), (np.searchsorted(queried, own[:, 0]), np.searchsorted(tags, own[:, 1]))),
        shape=(len(queried), len(tags)),
    )
    for start in range(0, len(queried), ROWS_PER_CHUNK):
        chunk = queried[start : start + ROWS_PER_CHUNK]
        scores = (query[start : start + len(chunk)] @ posting).toarray()
        for offset, product_id in enumerate(chunk.tolist()):
            category = wanted[product_id]
            if category is not None:
                scores[offset, categories == category] *= CATEGORY_BOOST
            scores[offset, neighbour_ids == product_id] = 0
        for item in _top_rows(scores, neighbour_ids, product_ids=chunk, limit=limit):
            found[item.product_id].append(item)
    return found


def all_neighbours(*, limit: int = NEIGHBOURS_KEPT, progress=None):
    """Yield the ranked neighbours of every active product, chunk by chunk (lists of Neighbour).

    Products are laid out by category, so a row's same-category boost is one contiguous slice.
    Common tags are scored with a dense matrix product, the long tail of rare tags sparsely.
    """
    products = active_products()
    rows = _applied_rows(products)
    product_count = len(products)
    if not len(rows):
        return
    product_ids, categories = products[:, 0], products[:, 1]
    position = np.empty(product_ids.max() + 1, dtype=np.int64)
    position[product_ids] = np.arange(product_count)
    row_product = position[rows[:, 0]]
    _tags, row_tag = np.unique(rows[:, 1], return_inverse=True)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (row_product, row_tag)), shape=(product_count, len(_tags))
    )
    document_frequency = np.asarray(matrix.sum(axis=0)).ravel()
    weights = idf(product_count=product_count, document_frequency=document_frequency)
    dense_tags = np.flatnonzero(document_frequency > DENSE_TAG_SHARE * product_count)
    sparse_tags = np.flatnonzero(document_frequency <= DENSE_TAG_SHARE * product_count)
    rare = matrix[:, sparse_tags].tocsr()
    rare_weighted_t = (rare @ sparse.diags(weights[sparse_tags])).T.tocsr()
    common = matrix[:, dense_tags].toarray()
    common_weighted_t = np.ascontiguousarray((common * weights[dense_tags]).T)
    block_start = np.searchsorted(categories, categories, side="left")
    block_stop = np.searchsorted(categories, categories, side="right")
    for start in range(0, product_count, ROWS_PER_CHUNK):
        stop = min(start + ROWS_PER_CHUNK, product_count)
        scores = common[start:stop] @ common_weighted_t
        tail = rare[start:stop] @ rare_weighted_t
        scores[np.repeat(np.arange(stop - start), np.diff(tail.indptr)), tail.indices] += tail.data
        for offset, row in enumerate(range(start, stop)):
            if categories[row] >= 0:
                scores[offset, block_start[row] : block_stop[row]] *= CATEGORY_BOOST
            scores[offset, row] = 0
        yield _top_rows(scores, product_ids, product_ids=product_ids[start:stop], limit=limit)
        if progress is not None:
            progress(stop, product_count)
