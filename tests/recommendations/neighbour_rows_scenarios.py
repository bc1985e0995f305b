"""What neighbour rows written in one statement must do on every database: every value read
back exactly as it was given.

tests/recommendations/test_neighbour_rows.py runs each scenario on the suite's database,
tests/scale/test_neighbour_rows_postgres.py on PostgreSQL, where the rows travel as array
literals rather than JSON.
"""

from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations import neighbour_rows
from recommendations.models import SimilarProduct
from recommendations.neighbour_rows import insert_neighbours
from recommendations.similarity import Neighbour
from tests.factories import ProductFactory


def inserted_rows_read_back_with_the_exact_scores_ranks_and_a_fresh_time():
    products = ProductFactory.create_batch(4)
    # Scores that a decimal round trip through text would bend.
    neighbours = [
        Neighbour(product_id=products[0].pk, neighbour_id=products[1].pk, score=1 / 3, rank=1),
        Neighbour(product_id=products[0].pk, neighbour_id=products[2].pk, score=0.1 + 0.2, rank=2),
        Neighbour(product_id=products[3].pk, neighbour_id=products[0].pk, score=12345.678901234567, rank=1),
    ]
    before = timezone.now()

    assert insert_neighbours(iter(neighbours)) == 3

    stored = list(SimilarProduct.objects.order_by("product_id", "rank"))
    read_back = [Neighbour(row.product_id, row.neighbour_id, row.score, row.rank) for row in stored]
    assert read_back == sorted(neighbours, key=lambda item: (item.product_id, item.rank))
    assert all(before - timedelta(seconds=1) <= row.computed_at <= timezone.now() for row in stored)


def rows_beyond_one_statement_go_in_further_statements():
    products = ProductFactory.create_batch(6)
    neighbours = [
        Neighbour(product_id=product.pk, neighbour_id=other.pk, score=float(rank), rank=rank)
        for product in products
        for rank, other in enumerate((other for other in products if other != product), start=1)
    ]

    with mock.patch.object(neighbour_rows, "ROWS_PER_STATEMENT", 7), CaptureQueriesContext(connection) as queries:
        insert_neighbours(neighbours)

    assert len([query for query in queries if query["sql"].startswith("INSERT")]) == 5  # 30 rows, 7 a statement
    assert SimilarProduct.objects.count() == 30


def nothing_to_insert_sends_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert insert_neighbours([]) == 0
    assert len(queries) == 0


def a_row_that_breaks_a_constraint_fails_the_whole_statement():
    product, other = ProductFactory.create_batch(2)
    rows = [
        Neighbour(product_id=product.pk, neighbour_id=other.pk, score=2.0, rank=1),
        Neighbour(product_id=product.pk, neighbour_id=product.pk, score=1.0, rank=1),  # rank 1 twice
    ]
    with pytest.raises(IntegrityError):
        insert_neighbours(rows)


def numpy_numbers_are_written_as_plain_values():
    product, other = ProductFactory.create_batch(2)
    row = Neighbour(
        product_id=np.int64(product.pk), neighbour_id=np.int64(other.pk), score=np.float64(0.75), rank=np.int16(1)
    )

    insert_neighbours([row])

    stored = SimilarProduct.objects.get()
    assert (stored.product_id, stored.neighbour_id, stored.score, stored.rank) == (product.pk, other.pk, 0.75, 1)


SCENARIOS = [
    pytest.param(scenario, id=scenario.__name__)
    for scenario in (
        inserted_rows_read_back_with_the_exact_scores_ranks_and_a_fresh_time,
        rows_beyond_one_statement_go_in_further_statements,
        nothing_to_insert_sends_no_statement,
        a_row_that_breaks_a_constraint_fails_the_whole_statement,
        numpy_numbers_are_written_as_plain_values,
    )
]
