"""In-process latency of the storefront's fast paths on the generated benchmark catalog.

Measures, each over many random products or sessions of the catalog made by
bench/similar_catalog.py:
  1. recommendations.selectors.similar_products (the selector alone);
  2. GET /api/products/<sku>/similar/ through the whole Django + DRF stack (middleware,
     throttling, serialisation) with Django's test client — no network — first on a cold
     response cache (every product read once), then again (served from the response cache);
  3. POST /api/recommendations/ without re-rank (the fast path);
  4. POST /api/recommendations/ with re-rank against a loopback model server that answers in
     180 ± 40 ms (the seed LLM-only path's average), first uncached, then cached.

    .venv/bin/python bench/similar_latency.py [--samples 2000] [--sessions 200]
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.similar_catalog import setup_django

SEED_LLM_ONLY = {"mean_ms": 180.0, "p99_ms": 480.0}


def summarise(name: str, samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    row = {
        "name": name,
        "n": len(ordered),
        "mean_ms": statistics.fmean(ordered),
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)],
    }
    figures = f"mean {row['mean_ms']:7.2f} ms  p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms"
    print(f"{name:<44} n={row['n']:<5} {figures}", flush=True)
    return row


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    arguments = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.core.cache import caches
    from django.test import Client

    from catalog.models import Product
    from llm import config as llm_config
    from recommendations.selectors import similar_products
    from tests.fakes.openai_server import FakeOpenAIServer

    settings.ALLOWED_HOSTS = ["*"]
    print(f"cache: {settings.CACHES['default']['BACKEND']}")
    print(f"throttle counters: {settings.CACHES.get('throttle', settings.CACHES['default'])['BACKEND']}")
    caches["default"].clear()
    chooser = random.Random(arguments.seed)
    ids = list(Product.objects.public().values_list("id", "sku"))
    print(f"active products: {len(ids):,}")
    sample = chooser.sample(ids, min(arguments.samples, len(ids)))
    products = {product.pk: product for product in Product.objects.filter(pk__in=[pk for pk, _ in sample])}
    client = Client()
    results = []

    for pk, _ in sample[:200]:  # warm the page cache and the code paths
        similar_products(product=products[pk], limit=10)
    results.append(
        summarise(
            "selector similar_products(limit=10)",
            [timed(lambda pk=pk: similar_products(product=products[pk], limit=10)) for pk, _ in sample],
        )
    )
    empty = sum(1 for pk, _ in sample[:200] if not similar_products(product=products[pk], limit=10))
    print(f"  (products with no neighbours among the first 200 sampled: {empty})")

    def get_similar(sku: str) -> None:
        response = client.get(f"/api/products/{sku}/similar/")
        assert response.status_code == 200, response.status_code

    sampled = {pk for pk, _ in sample}
    for _, sku in [pair for pair in ids[:400] if pair[0] not in sampled][:200]:  # warm code paths, not the sample
        get_similar(sku)
    results.append(
        summarise(
            "GET similar, first read (response cache miss)", [timed(lambda s=s: get_similar(s)) for _, s in sample]
        )
    )
    results.append(
        summarise(
            "GET similar, repeat read (response cache hit)", [timed(lambda s=s: get_similar(s)) for _, s in sample]
        )
    )

    sessions = [[sku for _, sku in chooser.sample(ids, 3)] for _ in range(arguments.sessions)]

    def recommend(viewed: list[str], session: int, **extra) -> dict:
        response = client.post(
            "/api/recommendations/",
            json.dumps({"session_id": f"bench-{session}", "viewed": viewed, **extra}),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        return response.json()

    results.append(
        summarise(
            "POST /api/recommendations/ fast path",
            [timed(lambda v=viewed, n=n: recommend(v, n)) for n, viewed in enumerate(sessions)],
        )
    )

    with FakeOpenAIServer(models=("gemini-2.5-flash",), latency=0.18, jitter=0.04) as server:
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-bench"
        settings.SHELFSIGHT_VISION_MODEL = "gemini-2.5-flash"
        llm_config.DEFAULT_MAX_RETRIES = 0

        def answer(body: dict) -> str:
            candidates = json.loads(body["messages"][1]["content"])["candidates"]
            items = [{"sku": item["sku"], "reason": "Shares the tags you browsed."} for item in reversed(candidates)]
            return json.dumps({"items": items})

        server.answer = answer
        statuses = []
        uncached = []
        for n, viewed in enumerate(sessions):
            started = time.perf_counter()
            statuses.append(recommend(viewed, n, rerank=True)["rerank_status"])
            uncached.append((time.perf_counter() - started) * 1000)
        print(f"  uncached re-rank statuses: {dict((s, statuses.count(s)) for s in set(statuses))}")
        results.append(summarise("POST re-rank, uncached (model 180±40 ms)", uncached))
        cached_statuses = []
        cached = []
        for n, viewed in enumerate(sessions):
            started = time.perf_counter()
            cached_statuses.append(recommend(viewed, n, rerank=True)["rerank_status"])
            cached.append((time.perf_counter() - started) * 1000)
        print(f"  second-call statuses: {dict((s, cached_statuses.count(s)) for s in set(cached_statuses))}")
        results.append(summarise("POST re-rank, cached", cached))
    print(
        f"seed LLM-only path (recorded, not re-measured): mean {SEED_LLM_ONLY['mean_ms']:.0f} ms, "
        f"p99 {SEED_LLM_ONLY['p99_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
