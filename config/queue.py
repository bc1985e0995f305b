"""Queue django-q2 tasks through one broker per process.

``django_q.tasks.async_task`` builds a broker for every call it is not handed one. With Redis
that is a new connection pool, so every queued task paid a TCP connect, redis-py's client
handshake (which reads the package's metadata from disk) and a socket left for the garbage
collector. A broker only wraps its connection pool, which is thread-safe and reconnects in a
forked child, so one per process serves every caller.

django-q2's own ``Conf`` copies ``Q_CLUSTER`` once, when it is first imported; what the project
needs of those options it reads from settings when it needs them, here.
"""

import os
import threading

from django.conf import settings
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


def tasks_run_inline() -> bool:
    """Whether a queued task runs at once in the caller's process (``Q_CLUSTER["sync"]``)."""
    return bool(settings.Q_CLUSTER.get("sync", False))


def default_queue_name() -> str:
    """The queue a task goes to when not given one: this process's cluster name, by django-q2's
    rule (the Q_CLUSTER_NAME environment variable, else the cluster's configured name)."""
    options = settings.Q_CLUSTER
    return os.environ.get("Q_CLUSTER_NAME") or options.get("cluster_name") or options.get("name", "default")
