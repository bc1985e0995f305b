"""Writing neighbour rows in one statement per chunk, with the values passed as a single parameter.

A refresh rewrites thousands of SimilarProduct rows. ``bulk_create`` builds a model instance
per row and has the driver adapt each value in Python, which made the writes most of a
refresh (BENCHMARKS.md). Here PostgreSQL receives each column as one array literal and SQLite
the rows as one JSON document; both unpack them in C. Other databases take ``bulk_create``.
"""

import json
from collections.abc import Iterable, Sequence

from django.db import connections, router
from django.utils import timezone

from recommendations.models import SimilarProduct
from recommendations.similarity import Neighbour

ROWS_PER_STATEMENT = 5000
_COLUMNS = "product_id, neighbour_id, score, rank, computed_at"


def insert_neighbours(neighbours: Iterable[Neighbour]) -> int:
    """Insert the rows (none of them may exist yet); returns how many."""
    # Plain Python numbers: numpy's would neither serialise to JSON nor repr() as a literal.
    rows = [(int(item.product_id), int(item.neighbour_id), float(item.score), int(item.rank)) for item in neighbours]
    now = timezone.now()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        _insert(rows[start : start + ROWS_PER_STATEMENT], now=now)
    return len(rows)


def _insert(rows: Sequence[tuple[int, int, float, int]], *, now) -> None:
    connection = connections[router.db_for_write(SimilarProduct)]
    table = connection.ops.quote_name(SimilarProduct._meta.db_table)
    if connection.vendor == "postgresql":
        columns = [_array_literal(values) for values in zip(*rows, strict=True)]
        sql = (
            f"INSERT INTO {table} ({_COLUMNS}) SELECT *, %s FROM unnest("  # noqa: S608 - names only
            "%s::bigint[], %s::bigint[], %s::double precision[], %s::smallint[])"
        )
        params = [now, *columns]
    elif connection.vendor == "sqlite":
        sql = (
            f"INSERT INTO {table} ({_COLUMNS}) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "  # noqa: S608 - names only
            "json_extract(value, '$[2]'), json_extract(value, '$[3]'), %s FROM json_each(%s)"
        )
        params = [connection.ops.adapt_datetimefield_value(now), json.dumps(rows)]
    else:
        SimilarProduct.objects.using(connection.alias).bulk_create(
            SimilarProduct(product_id=product, neighbour_id=neighbour, score=score, rank=rank, computed_at=now)
            for product, neighbour, score, rank in rows
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _array_literal(values: Iterable[int | float]) -> str:
    # repr() of a float reads back as the same double, so scores survive exactly.
    return "{" + ",".join(map(repr, values)) + "}"
