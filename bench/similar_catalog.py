"""Generate the storefront benchmark catalog into its own database, then precompute neighbours.

100,000 active products (plus 1,000 held ones that must never be shown) and about 1,000,000
applied tags drawn facet by facet from Zipf-like distributions: a few colours, seasons and
keywords sit on many products, most keywords on a handful.

    .venv/bin/python bench/similar_catalog.py                      # SQLite file bench/out/storefront.sqlite3
    DATABASE_URL=postgres://... .venv/bin/python bench/similar_catalog.py

Options: --products N, --seed S, --skip-rebuild. Prints timings for each phase.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = ROOT / "bench" / "out" / "storefront.sqlite3"

# facet: (vocabulary size, tags drawn per product, Zipf exponent)
FACETS = {
    "category": (60, (1, 1), 0.8),
    "colour": (24, (1, 2), 1.1),
    "material": (30, (1, 1), 1.0),
    "style": (25, (1, 1), 0.9),
    "pattern": (15, (0, 1), 1.2),
    "season": (4, (1, 1), 0.3),
    "keyword": (5000, (3, 5), 1.05),
}


def setup_django() -> None:
    """Point Django at the benchmark database (never the development one) and set it up."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DEFAULT_DATABASE}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    DEFAULT_DATABASE.parent.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


def zipf_weights(size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return weights / weights.sum()


def generate(*, products: int, seed: int) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import Category, Product
    from tagging.models import ProductTag, Tag

    random = np.random.default_rng(seed)
    timings = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    timings["migrate"] = time.perf_counter() - started

    started = time.perf_counter()
    with transaction.atomic():
        ProductTag.objects.all().delete()
        Product.objects.all().delete()
        Category.objects.all().delete()
        Tag.objects.all().delete()
        leaves = []
        for root_index in range(10):
            root = Category.objects.create(name=f"Department {root_index}", slug=f"department-{root_index}")
            for middle_index in range(5):
                middle = Category.objects.create(
                    name=f"Aisle {middle_index}", slug=f"aisle-{middle_index}", parent=root
                )
                for leaf_index in range(4):
                    leaves.append(
                        Category.objects.create(name=f"Shelf {leaf_index}", slug=f"shelf-{leaf_index}", parent=middle)
                    )
        tags_by_facet = {}
        for facet, (size, _, _) in FACETS.items():
            Tag.objects.bulk_create(
                [Tag(facet=facet, name=f"{facet} {index}", slug=f"{facet}-{index}") for index in range(size)]
            )
            tags_by_facet[facet] = np.array(
                Tag.objects.filter(facet=facet).order_by("id").values_list("id", flat=True), dtype=np.int64
            )
    timings["vocabulary"] = time.perf_counter() - started

    started = time.perf_counter()
    now = timezone.now()
    leaf_ids = np.array([leaf.pk for leaf in leaves])
    categories = leaf_ids[random.choice(len(leaf_ids), size=products + 1000, p=zipf_weights(len(leaf_ids), 0.7))]
    prices = np.round(np.exp(random.normal(3.5, 1.0, size=products + 1000)), 2)
    batch = []
    for index in range(products + 1000):
        batch.append(
            Product(
                sku=f"BENCH-{index:07d}",
                title=f"Benchmark product {index}",
                description="Generated for the storefront benchmark.",
                price=f"{min(prices[index], 9999):.2f}",
                category_id=int(categories[index]),
                status=Product.Status.ACTIVE if index < products else Product.Status.HELD,
                created_at=now - timezone.timedelta(seconds=index),
            )
        )
    with transaction.atomic():
        Product.objects.bulk_create(batch, batch_size=5000)
    product_ids = np.array(Product.objects.order_by("id").values_list("id", flat=True), dtype=np.int64)
    timings["products"] = time.perf_counter() - started

    started = time.perf_counter()
    pairs = []
    for facet, (size, (low, high), exponent) in FACETS.items():
        counts = random.integers(low, high + 1, size=len(product_ids))
        owners = np.repeat(product_ids, counts)
        drawn = tags_by_facet[facet][random.choice(size, size=len(owners), p=zipf_weights(size, exponent))]
        pairs.append(np.stack([owners, drawn], axis=1))
    pairs = np.unique(np.concatenate(pairs), axis=0)  # a product carries a tag once
    confidences = np.round(random.uniform(0.9, 1.0, size=len(pairs)), 3)
    with transaction.atomic():
        for start in range(0, len(pairs), 50_000):
            ProductTag.objects.bulk_create(
                [
                    ProductTag(
                        product_id=int(product_id),
                        tag_id=int(tag_id),
                        confidence=float(confidence),
                        status=ProductTag.Status.APPLIED,
                        band=ProductTag.Band.HIGH,
                        source=ProductTag.Source.AI,
                        model="bench",
                    )
                    for (product_id, tag_id), confidence in zip(
                        pairs[start : start + 50_000], confidences[start : start + 50_000], strict=True
                    )
                ],
                batch_size=5000,
            )
    timings["tags"] = time.perf_counter() - started
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"applied_tags": len(pairs), "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-rebuild", action="store_true")
    arguments = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        # Start from an empty file: deleting 100,000 products row by row would take longer.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_DATABASE}{suffix}").unlink(missing_ok=True)
    setup_django()
    from django.db import connection

    print(f"database: {connection.settings_dict['NAME']}")
    result = generate(products=arguments.products, seed=arguments.seed)
    print(f"active products: {arguments.products:,}; applied tags: {result['applied_tags']:,}")
    for phase, seconds in result["timings"].items():
        print(f"  {phase:<10} {seconds:7.1f} s")
    if not arguments.skip_rebuild:
        from recommendations.services import rebuild_similar_products

        started = time.perf_counter()
        rows = rebuild_similar_products()
        print(f"  {'neighbours':<10} {time.perf_counter() - started:7.1f} s ({rows:,} rows)")


if __name__ == "__main__":
    main()
