"""Per-client rates: reads by the anon/user rates, writes by their own, all in O(1) per request.

DRF's stock throttles keep every request's timestamp of the window in the cache and rewrite
that list on each request, so a busy client's check grows with its rate (thousands of entries
at storefront rates). These keep one counter per client and window instead; Retry-After is the
time left in the client's window.

Counters live in the ``throttle`` cache alias (see config/settings.py): Redis when configured,
else process memory. A steady client costs one ``incr`` per request (in Redis one round trip,
config.cache.RedisCache); opening a window costs two ``add`` more, and a refusal one ``get``.
"""

from django.conf import settings
from django.core.cache import caches
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class FixedWindowMixin:
    """A counter per client that starts with its first request and lasts one rate period."""

    @property
    def cache(self):
        # Test settings and tools that replace CACHES wholesale may leave the alias out.
        return caches["throttle" if "throttle" in settings.CACHES else "default"]

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # Own key names: DRF's throttles store a list under the plain key, which incr cannot count.
        self.key = f"{key}:count"
        cache = self.cache
        now = self.timer()
        window_key = f"{self.key}:window"
        count = self._counted(cache, window_key, now)
        if count <= self.num_requests:
            return True
        started = cache.get(window_key, now)
        self.retry_after = max(1.0, started + self.duration - now)
        return False

    def _counted(self, cache, window_key: str, now: float) -> int:
        try:
            return cache.incr(self.key)
        except ValueError:  # first request of a window (or the window just expired)
            cache.add(window_key, now, self.duration)
            if cache.add(self.key, 1, self.duration):
                return 1
        try:
            return cache.incr(self.key)  # another request opened the window first
        except ValueError:
            cache.set(self.key, 1, self.duration)
            return 1

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)


class AnonReadThrottle(FixedWindowMixin, AnonRateThrottle):
    """Anonymous clients, by address (scope ``anon``)."""


class UserReadThrottle(FixedWindowMixin, UserRateThrottle):
    """Authenticated clients, by account (scope ``user``); anonymous ones are AnonReadThrottle's."""

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class WriteRateThrottle(FixedWindowMixin, UserRateThrottle):
    """Counts only state-changing requests, per user (or per address when anonymous)."""

    scope = "writes"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
