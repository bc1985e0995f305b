"""The Redis cache: one redis-py client per pool, an incr that counts only existing keys and
keeps their expiry, throttle counters that expire with their window."""

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

import config.cache

pytestmark = [pytest.mark.scale, pytest.mark.django_db]


def test_each_cache_reuses_one_redis_client():
    for alias in ("default", "throttle"):
        cache = caches[alias]
        assert isinstance(cache, config.cache.RedisCache)
        assert cache._cache.get_client(write=True) is cache._cache.get_client()
        cache.set("reused-client", 41)
        assert cache.incr("reused-client") == 42


def test_incr_of_a_missing_key_raises_and_leaves_no_count_behind():
    with pytest.raises(ValueError, match="not found"):
        cache.incr("never-set")
    assert "never-set" not in cache


def test_incr_and_decr_keep_the_key_expiry():
    cache.set("counted", 40, 60)
    assert cache.incr("counted", 5) == 45
    assert cache.decr("counted", 3) == 42
    assert cache.get("counted") == 42
    key = cache.make_and_validate_key("counted")
    assert 0 < cache._cache.get_client(key).ttl(key) <= 60


@pytest.fixture
def tight_rates(monkeypatch):
    # DRF binds the rate table when the throttle class is defined, so override it there.
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/min", "user": "100/min", "writes": "2/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def test_redis_counts_anonymous_reads_and_refuses_with_retry_after(tight_rates):
    throttle = caches["throttle"]
    assert isinstance(throttle, RedisCache)
    client = APIClient(REMOTE_ADDR="10.0.0.21")
    assert [client.get("/api/products/").status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = client.get("/api/products/")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert throttle.get("throttle_anon_10.0.0.21:count") == 5  # a plain number, readable through the cache


def test_redis_counter_expires_with_its_window(tight_rates):
    throttle = caches["throttle"]
    APIClient(REMOTE_ADDR="10.0.0.22").get("/api/products/")
    key = throttle.make_and_validate_key("throttle_anon_10.0.0.22:count")
    assert 0 < throttle._cache.get_client(key).ttl(key) <= 60


def test_redis_counts_each_client_apart(tight_rates):
    first, second = APIClient(REMOTE_ADDR="10.0.0.23"), APIClient(REMOTE_ADDR="10.0.0.24")
    for _ in range(3):
        first.get("/api/products/")
    assert first.get("/api/products/").status_code == 429
    assert second.get("/api/products/").status_code == 200
