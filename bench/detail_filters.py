"""CPU of one product detail read with and without the list's filter backends, interleaved.

Reads the storefront benchmark catalog (bench/similar_catalog.py) through Django's test client,
production settings, Redis cache. Request by request it alternates DRF's own
``filter_queryset`` (filters, search and ordering applied to the detail view too: the baseline)
with ProductViewSet's (the list's only), so a noisy machine slows both sides alike; the CPU of
this thread is timed per request.

    .venv/bin/python bench/detail_filters.py [--requests 4000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    arguments = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
            "DJANGO_SETTINGS_MODULE": "bench.settings",  # no rate limits
        }
    )
    from bench.similar_catalog import setup_django

    setup_django()
    from django.conf import settings
    from django.test import Client
    from rest_framework.generics import GenericAPIView

    from catalog.models import Product
    from storefront.api.views import ProductViewSet

    settings.ALLOWED_HOSTS = ["*"]
    settings.SECURE_SSL_REDIRECT = False
    warm_up = 200
    skus = list(Product.objects.public().order_by("id").values_list("sku", flat=True)[: warm_up + arguments.requests])
    ways = {
        "filters on detail (DRF)": GenericAPIView.filter_queryset,
        "list only (shipped)": ProductViewSet.filter_queryset,
    }
    client = Client()
    for sku in skus[:warm_up]:
        client.get(f"/api/products/{sku}/")
    samples: dict[str, list[float]] = {name: [] for name in ways}
    names = list(ways)
    for index, sku in enumerate(skus[warm_up:]):
        name = names[index % 2]
        ProductViewSet.filter_queryset = ways[name]
        started = time.thread_time()
        response = client.get(f"/api/products/{sku}/")
        samples[name].append((time.thread_time() - started) * 1000)
        assert response.status_code == 200, response.status_code
    ProductViewSet.filter_queryset = ways["list only (shipped)"]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, median in medians.items():
        print(f"{name:26} median {median:.2f} ms CPU per detail read ({len(samples[name])} reads)")
    print(f"baseline / shipped: {medians[names[0]] / medians[names[1]]:.2f}x")


if __name__ == "__main__":
    main()
