"""Where one uncached ``GET /api/products/<sku>/similar/`` spends its time, end to end in-process.

Runs the production middleware and DRF stack (Django's test client, no network) over SKUs
that were never read, each once — every request is a response-cache miss — under cProfile,
and prints the functions with the most cumulative time, the queries per request and the mean
time per request with and without the profiler.

    .venv/bin/python bench/similar_profile.py [--requests 2000] [--top 40] [--conn-max-age 60]
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/similar_profile.py   # Redis cache
"""

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.similar_catalog import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--conn-max-age", type=int, default=60, help="seconds; 0 = a connection per request")
    parser.add_argument("--sort", default="cumulative")
    arguments = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("BENCH_CACHE_PREFIX", f"bench-profile-{time.time_ns()}")
    os.environ["BENCH_CONN_MAX_AGE"] = str(arguments.conn_max_age)
    setup_django()
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client

    from catalog.models import Product

    settings.ALLOWED_HOSTS = ["*"]
    print(f"cache: {settings.CACHES['default']['BACKEND']}; CONN_MAX_AGE {connection.settings_dict['CONN_MAX_AGE']}")
    skus = list(Product.objects.public().order_by("id").values_list("sku", flat=True))
    random.Random(17).shuffle(skus)
    client = Client()

    def read(sku: str) -> None:
        response = client.get(f"/api/products/{sku}/similar/")
        assert response.status_code == 200, response.status_code

    for sku in skus[: arguments.requests // 4]:  # code paths, connections and pages warm
        read(sku)
    unprofiled = skus[arguments.requests : 2 * arguments.requests]
    started = time.perf_counter()
    for sku in unprofiled:
        read(sku)
    mean_ms = (time.perf_counter() - started) * 1000 / len(unprofiled)

    settings.DEBUG = True  # count queries of a few requests
    reset_queries()
    for sku in skus[2 * arguments.requests : 2 * arguments.requests + 100]:
        read(sku)
    queries = len(connection.queries) / 100
    settings.DEBUG = False

    profiler = cProfile.Profile()
    profiled = skus[3 * arguments.requests : 4 * arguments.requests]
    started = time.perf_counter()
    profiler.enable()
    for sku in profiled:
        read(sku)
    profiler.disable()
    profiled_ms = (time.perf_counter() - started) * 1000 / len(profiled)
    print(f"first reads: {mean_ms:.3f} ms a request ({profiled_ms:.3f} ms profiled); {queries:.2f} queries a request")
    pstats.Stats(profiler).strip_dirs().sort_stats(arguments.sort).print_stats(arguments.top)


if __name__ == "__main__":
    main()
