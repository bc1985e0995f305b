"""A batch's one-statement analysis write on PostgreSQL, which types each value by its column."""

import pytest

from tests.tagging.test_batch_record import (
    test_a_batch_writes_its_analysis_rows_in_one_update_with_every_outcome_field as write_and_check_a_batch,
)

pytestmark = [pytest.mark.scale, pytest.mark.django_db]


def test_a_batch_writes_its_analysis_rows_in_one_update_with_every_outcome_field_on_postgresql(
    assert_scale_backends,
):
    write_and_check_a_batch()
