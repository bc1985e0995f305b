"""A stand-alone worker process for the shared circuit-breaker test.

    python -m tests.llm.breaker_worker CACHE_DIR fail|check ROUTE DEPLOYMENT_KEY

``fail`` records failures until the circuit opens; ``check`` prints "open" or "closed".
Each run is its own interpreter with its own Django, sharing only the file-based cache.
"""

import sys

import django
from django.conf import settings


def main() -> None:
    cache_dir, action, route, deployment_key = sys.argv[1:5]
    settings.configure(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": cache_dir}},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
    from llm import breaker

    if action == "fail":
        opened = False
        for _ in range(3):
            opened = breaker.record_failure(route, deployment_key, failures=3, cooldown_seconds=30)
        print("opened" if opened else "not opened")
    else:
        print("open" if breaker.is_open(route, deployment_key) else "closed")


if __name__ == "__main__":
    main()
