"""Per-provider limit on concurrent calls, per process.

A process-local semaphore (not a cache-based one): it costs nothing per call and cannot leak
slots when a worker dies mid-call. The cluster-wide ceiling is therefore
max_concurrency × processes; size Provider.max_concurrency with that in mind (docs/providers.md).
"""

import threading
from contextlib import contextmanager

_lock = threading.Lock()
_semaphores: dict[tuple[str, int], threading.BoundedSemaphore] = {}


class ProviderSaturated(Exception):
    """Every slot for the provider stayed busy for the whole wait."""


def _semaphore(provider: str, limit: int) -> threading.BoundedSemaphore:
    key = (provider, limit)
    semaphore = _semaphores.get(key)
    if semaphore is None:
        with _lock:
            semaphore = _semaphores.setdefault(key, threading.BoundedSemaphore(limit))
    return semaphore


@contextmanager
def slot(*, provider: str, limit: int, wait_seconds: float):
    semaphore = _semaphore(provider, limit)
    if not semaphore.acquire(timeout=wait_seconds):
        raise ProviderSaturated(f"{provider}: {limit} calls already in flight")
    try:
        yield
    finally:
        semaphore.release()
