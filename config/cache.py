"""Django's Redis cache backend, with one redis-py client per connection pool.

``django.core.cache.backends.redis`` builds a new ``redis.Redis`` for every cache operation.
Since redis-py 5 that copies its table of some 170 response callbacks each time, which costs
more CPU than the round trip to a local Redis. A client only wraps its connection pool and is
safe to share between threads, so one per pool does the same work for less.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class PooledRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that reuses its redis-py clients."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = PooledRedisCacheClient
