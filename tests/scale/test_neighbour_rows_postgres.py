"""Neighbour rows on PostgreSQL, where they travel as array literals rather than JSON."""

import pytest

from tests.recommendations import test_neighbour_rows as on_any_database

pytestmark = [pytest.mark.scale, pytest.mark.django_db]


def test_inserted_rows_read_back_exactly_on_postgresql(assert_scale_backends):
    on_any_database.test_inserted_rows_read_back_with_the_exact_scores_ranks_and_a_fresh_time()


def test_rows_beyond_one_statement_go_in_further_statements_on_postgresql(assert_scale_backends, monkeypatch):
    on_any_database.test_rows_beyond_one_statement_go_in_further_statements(monkeypatch)


def test_a_row_that_breaks_a_constraint_fails_the_whole_statement_on_postgresql(assert_scale_backends):
    on_any_database.test_a_row_that_breaks_a_constraint_fails_the_whole_statement()


def test_numpy_numbers_are_written_as_plain_values_on_postgresql(assert_scale_backends):
    on_any_database.test_numpy_numbers_are_written_as_plain_values()
