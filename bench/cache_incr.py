"""Cost of one cache incr() on the database cache: Django's backend against config.cache's.

Both backends count on the same table in one process, call by call in turn, so a noisy
machine slows both alike. Without DATABASE_URL a throw-away SQLite file is used (the project's
settings: WAL, IMMEDIATE transactions); for PostgreSQL name a scratch database, which gets
migrated:

    .venv/bin/python bench/cache_incr.py [--calls 4000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/cache_incr.py
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    arguments = parser.parse_args()
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SHELFSIGHT_VAR_DIR"] = tempfile.mkdtemp(prefix="shelfsight-cache-incr-")
    import django

    django.setup()
    from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
    from django.core.management import call_command
    from django.db import connection

    from config.cache import DatabaseCache

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    params = {"OPTIONS": {"MAX_ENTRIES": 50_000}}
    backends = {
        "Django's": DjangoDatabaseCache("shelfsight_cache", params),
        "config.cache": DatabaseCache("shelfsight_cache", params),
    }
    for index in range(200):  # a table with a few entries, as a running site's
        backends["config.cache"].set(f"filler-{index}", index, None)
    for name, cache in backends.items():
        cache.set(f"counter-{name}", 0, None)
    samples: dict[str, list[float]] = {name: [] for name in backends}
    names = list(backends)
    for call in range(arguments.calls):
        name = names[call % 2]
        started = time.perf_counter()
        backends[name].incr(f"counter-{name}")
        samples[name].append((time.perf_counter() - started) * 1e6)
    print(f"{connection.vendor}, {arguments.calls // 2} calls each, interleaved")
    for name, values in samples.items():
        print(f"{name:13} incr median {statistics.median(values):7.0f} µs")


if __name__ == "__main__":
    main()
