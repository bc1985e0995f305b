"""config.cache.DatabaseCache: Django's database cache with an atomic incr()."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.config.counting_under_threads import database_cache_in

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_cache(settings, db):
    with database_cache_in(settings) as database_cache:
        yield database_cache


def test_incr_and_decr_return_and_keep_the_new_total(database_cache):
    database_cache.set("total", 40, None)
    assert database_cache.incr("total", 5) == 45
    assert database_cache.decr("total", 3) == 42
    assert database_cache.get("total") == 42


def test_incr_keeps_the_entrys_expiry_and_version(database_cache):
    database_cache.set("total", 1, 60, version=2)
    assert database_cache.incr("total", version=2) == 2
    assert database_cache.get("total", version=2) == 2
    assert database_cache.get("total") is None


def test_incr_of_a_missing_key_raises_value_error(database_cache):
    with pytest.raises(ValueError, match="'absent' not found"):
        database_cache.incr("absent")


def test_incr_of_an_expired_key_raises_value_error(database_cache):
    database_cache.set("brief", 1, 1)
    time.sleep(1.1)
    with pytest.raises(ValueError, match="'brief' not found"):
        database_cache.incr("brief")


@pytest.mark.slow
def test_counting_from_many_threads_on_a_sqlite_file_loses_nothing(tmp_path):
    environment = {
        **{key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}},
        "SHELFSIGHT_TEST_SQLITE_NAME": str(tmp_path / "counting.sqlite3"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/config/counting_under_threads.py"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b2 passed\b", result.stdout), result.stdout[-2000:]
