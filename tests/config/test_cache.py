"""config.cache.DatabaseCache: Django's database cache with an atomic incr()."""

import re
from datetime import timedelta

import pytest
from django.core.cache.backends import db as django_database_cache
from django.utils import timezone

import config.cache
from tests.own_process import run_on_sqlite_file


@pytest.fixture
def move_cache_clock(monkeypatch):
    """Moves the clock the database cache judges expiry by ``seconds`` ahead, instead of sleeping."""

    def move(*, seconds: float) -> None:
        def later():
            return timezone.now() + timedelta(seconds=seconds)

        monkeypatch.setattr(django_database_cache, "tz_now", later)  # Django's reads
        monkeypatch.setattr(config.cache, "now", later)  # incr

    return move


def test_incr_and_decr_return_and_keep_the_new_total(database_cache):
    database_cache.set("total", 40, None)
    assert database_cache.incr("total", 5) == 45
    assert database_cache.decr("total", 3) == 42
    assert database_cache.get("total") == 42


def test_incr_counts_the_named_version_only(database_cache):
    database_cache.set("total", 1, 60, version=2)
    database_cache.set("total", 10, 60)
    assert database_cache.incr("total", version=2) == 2
    assert database_cache.get("total", version=2) == 2
    assert database_cache.get("total") == 10


def test_incr_of_a_missing_key_raises_value_error(database_cache):
    with pytest.raises(ValueError, match="'absent' not found"):
        database_cache.incr("absent")


def test_incr_keeps_the_expiry_and_refuses_a_key_past_it(database_cache, move_cache_clock):
    database_cache.set("counted", 1, 60)
    database_cache.set("brief", 1, 60)
    assert database_cache.incr("counted") == 2
    move_cache_clock(seconds=61)
    assert database_cache.get("counted") is None  # the count did not extend the entry's life
    with pytest.raises(ValueError, match="'brief' not found"):  # its row is still there, expired
        database_cache.incr("brief")


@pytest.mark.slow
def test_counting_from_many_threads_on_a_sqlite_file_loses_nothing(tmp_path):
    result = run_on_sqlite_file(
        "tests/config/counting_under_threads.py", database=tmp_path / "counting.sqlite3", timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b2 passed\b", result.stdout), result.stdout[-2000:]
