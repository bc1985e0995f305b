"""Queue django-q2 tasks through one broker per process.

``django_q.tasks.async_task`` builds a broker for every call it is not handed one. With Redis
that is a new connection pool, so every queued task paid a TCP connect, redis-py's client
handshake (which reads the package's metadata from disk) and a socket left for the garbage
collector. A broker only wraps its connection pool, which is thread-safe and reconnects in a
forked child, so one per process serves every caller.
"""

import threading

from django_q.brokers import Broker, get_broker
from django_q.tasks import async_task

_lock = threading.Lock()
_brokers: dict[str | None, Broker] = {}


def enqueue(func: str, *args, **kwargs) -> str:
    """``async_task`` with this process's broker; returns the task id."""
    return async_task(func, *args, broker=shared_broker(kwargs.get("cluster")), **kwargs)


def shared_broker(list_key: str | None = None) -> Broker:
    broker = _brokers.get(list_key)
    if broker is None:
        with _lock:
            broker = _brokers.get(list_key) or _brokers.setdefault(list_key, get_broker(list_key))
    return broker
