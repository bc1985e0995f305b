"""The caches production runs on without REDIS_URL, for tests of what relies on them.

The suite's own cache is process memory (tests/conftest.py); circuit breakers, spend caps and
canary statistics count in the database cache in production (config.cache.DatabaseCache, with
its atomic incr), so their tests run on that one too.
"""

from contextlib import contextmanager

from django.core.cache import caches
from django.core.management import call_command

# As config/settings.py sets them up when REDIS_URL is unset.
CACHES_WITHOUT_REDIS = {
    "default": {"BACKEND": "config.cache.DatabaseCache", "LOCATION": "shelfsight_cache"},
    "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shelfsight-throttle"},
}


@contextmanager
def database_cache_in(settings):
    """CACHES_WITHOUT_REDIS, empty, for the block (the cache table created in the test database
    if missing); the suite's own caches again afterwards, while the test database is still there
    for the suite to clear them."""
    own = settings.CACHES
    settings.CACHES = CACHES_WITHOUT_REDIS
    call_command("createcachetable", verbosity=0)
    for alias in CACHES_WITHOUT_REDIS:
        caches[alias].clear()
    try:
        yield caches["default"]
    finally:
        settings.CACHES = own
