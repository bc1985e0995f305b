"""Fault injection: runs the checks in faults_under_load.py in their own pytest process.

Those checks drive eight threads at the database, as ``backfill_tags --concurrency`` does in
production. The suite's in-memory SQLite fails concurrent writers outright (its shared cache
has no busy timeout), so that process gets a file database, like a real deployment.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_thousand_images_under_provider_faults_end_tagged_or_failed_and_retryable(tmp_path):
    environment = {
        **{key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}},
        "SHELFSIGHT_TEST_SQLITE_NAME": str(tmp_path / "faults.sqlite3"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "tests/reliability/faults_under_load.py",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"^4 passed", result.stdout, re.MULTILINE), result.stdout[-2000:]
