"""Django's cache backends, each with its counting or its client mended.

Django offers no public hook for these repairs, so this is the one module that leans on its
cache backends' internals; each such line says which and why. Everything else in the project
reaches the cache through Django's public API (``get``, ``set``, ``add``, ``incr``...).

RedisCache:
- One redis-py client per pool. Django's backend builds a new ``redis.Redis`` for every cache
  operation, and since redis-py 5 that copies its whole table of response callbacks each
  time, which costs more CPU than the round trip to a local Redis. A client only wraps its
  connection pool and is safe to share between threads.
- An atomic ``incr``. Django's asks whether the key exists, then increments it: a key that
  expires between the two comes back as a count with no expiry, so a throttle window or a
  day's spend would never end. Here one script does both, as one step of Redis, in one round
  trip.

DatabaseCache: Django's ``incr`` reads the value, then writes value + delta, so two workers
counting at once both write the same total and one count is lost. Spend caps, circuit breakers
and cache versions count with ``incr``; here it reads and writes the row in one transaction
that holds its lock.
"""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.db import connections, models, router, transaction
from django.utils.timezone import now

# KEYS[1] += ARGV[1] when it exists, else nil: Redis runs a script whole, so the key cannot
# expire between the check and the increment.
INCREMENT_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class PooledRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._increment_existing = None

    def get_client(self, key=None, *, write=False):
        # Django's own pool lookup and client class (private): only the client is kept.
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        if self._increment_existing is None:
            self._increment_existing = client.register_script(INCREMENT_EXISTING)
        value = self._increment_existing(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that reuses its redis-py clients and whose
    ``incr`` and ``decr`` are atomic."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        # Django's backend takes its client class from this private attribute and has no option for it.
        self._class = PooledRedisCacheClient


class DatabaseCache(DjangoDatabaseCache):
    """``django.core.cache.backends.db.DatabaseCache`` whose ``incr`` and ``decr`` are atomic."""

    def incr(self, key, delta=1, version=None):
        made_key = self.make_and_validate_key(key, version=version)
        database = router.db_for_write(self.cache_model_class)
        connection = connections[database]
        quote = connection.ops.quote_name
        table = quote(self.cache_model_class._meta.db_table)
        value_column, key_column = quote("value"), quote("cache_key")
        # PostgreSQL locks the row until commit; SQLite runs with transaction_mode IMMEDIATE
        # (config.settings), so the transaction holds the database's write lock from its start.
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        # Only quoted identifiers are formatted into the SQL; the key and value are parameters.
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {value_column}, {quote('expires')} FROM {table} WHERE {key_column} = %s{lock}",  # noqa: S608
                [made_key],
            )
            row = cursor.fetchone()
            if row is None or self._expired(row[1], connection):
                raise ValueError(f"Key '{key}' not found")
            # The row holds base64(pickle(value)), as Django's backend writes and reads it (private:
            # no public call encodes a value, and get() + set() would also run set()'s cull check,
            # a count of the whole table, on every count).
            value = pickle.loads(base64.b64decode(connection.ops.process_clob(row[0]).encode())) + delta  # noqa: S301
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            update = f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s"  # noqa: S608
            cursor.execute(update, [encoded, made_key])
        return value

    @staticmethod
    def _expired(expires, connection) -> bool:
        """As Django's own reads judge it: the stored moment through the backend's converters."""
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        return expires < now()
