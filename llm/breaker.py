"""Circuit breaker per route and deployment, with its state in Django's cache so every process
shares it.

After ``failures`` consecutive failed calls a deployment's circuit on one route opens for
``cooldown`` seconds: every worker skips that deployment *on that route* until the key
expires, then it is tried again. Keeping routes apart means storefront re-ranks failing on
a model never stop image analyses from using it, and the other way round. With REDIS_URL
set the cache is Redis; otherwise the database cache, which all local processes share too.
Counting uses cache.incr, atomic on both (config.cache.DatabaseCache).
"""

import time

from django.core.cache import cache


def clock() -> float:
    """Wall-clock seconds, the same in every process (tests move it instead of sleeping)."""
    return time.time()


def _circuit(route: str, deployment_key: str) -> str:
    return f"llm:breaker:{route}:{deployment_key}"


def _failures_key(route: str, deployment_key: str) -> str:
    return f"{_circuit(route, deployment_key)}:failures"


def _open_key(route: str, deployment_key: str) -> str:
    return f"{_circuit(route, deployment_key)}:open-until"


def state_keys(route: str, deployment_key: str) -> tuple[str, str]:
    """Keys to fetch in one get_many with the rest of a request's shared state."""
    return _open_key(route, deployment_key), _failures_key(route, deployment_key)


def is_open(route: str, deployment_key: str, *, state: dict | None = None) -> bool:
    key = _open_key(route, deployment_key)
    open_until = (state if state is not None else cache.get_many([key])).get(key)
    return open_until is not None and open_until > clock()


def open_until(route: str, deployment_key: str) -> float | None:
    value = cache.get(_open_key(route, deployment_key))
    return value if value is not None and value > clock() else None


def record_failure(route: str, deployment_key: str, *, failures: int, cooldown_seconds: int) -> bool:
    """Count one failure; returns True when this failure opened the circuit."""
    key = _failures_key(route, deployment_key)
    cache.add(key, 0, timeout=cooldown_seconds * 10)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=cooldown_seconds * 10)
        count = 1
    if count < failures:
        return False
    cache.set(_open_key(route, deployment_key), clock() + cooldown_seconds, timeout=cooldown_seconds)
    cache.delete(key)
    return True


def record_success(route: str, deployment_key: str, *, state: dict | None = None) -> None:
    """A success ends a failure streak; skips the write when the request saw no streak."""
    key = _failures_key(route, deployment_key)
    if state is not None and not state.get(key):
        return
    cache.delete(key)
