"""Fault injection: runs the checks in faults_under_load.py in their own pytest process.

Those checks drive a batch's threads at the database, as a worker does in production. The
suite's in-memory SQLite fails concurrent writers outright (its shared cache has no busy
timeout), so that process gets a file database, like a real deployment.
"""

import re

import pytest

from tests.own_process import run_on_sqlite_file


@pytest.mark.slow
def test_images_under_provider_faults_all_end_tagged_once_retries_ran_within_the_policy(tmp_path):
    result = run_on_sqlite_file(
        "tests/reliability/faults_under_load.py", database=tmp_path / "faults.sqlite3", timeout=540
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"^4 passed", result.stdout, re.MULTILINE), result.stdout[-2000:]
