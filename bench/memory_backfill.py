"""Peak memory of ``backfill_tags`` over a large catalog (default 100,000 images).

Makes a SQLite catalog of N products with one image each (rows only: the queueing backfill
never opens the files), then runs ``manage.py backfill_tags --no-progress --max-waiting 0`` in a
subprocess and samples its resident set size every 50 ms. No worker runs here, so the bound
on waiting images is off (it would hold the command at the first 64 for ever): the command
walks the whole catalog and queues every image, the most it can hold at once. Baseline in the
same run: the RSS of ``manage.py check`` (Django and every app imported, nothing done).

    python bench/memory_backfill.py --images 100000
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command``; return (peak RSS in MB, seconds, stdout tail)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return peak / 1024 / 1024, time.perf_counter() - started, output.strip().splitlines()[-1] if output else ""


def build_catalog(count: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from catalog.models import Product, ProductImage

    batch = 5000
    for start in range(0, count, batch):
        size = min(batch, count - start)
        products = Product.objects.bulk_create(
            [
                Product(sku=f"MEM-{start + index:07d}", title="Memory bench", price=10, status="active")
                for index in range(size)
            ]
        )
        ProductImage.objects.bulk_create(
            [
                ProductImage(
                    product=product,
                    image=f"products/mem-{product.pk}.jpg",
                    sha256=f"{product.pk:064x}",
                    width=640,
                    height=480,
                    format="JPEG",
                    file_size=50_000,
                    position=0,
                )
                for product in products
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="shelfsight-memory-"))
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY"}
    } | {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SHELFSIGHT_VAR_DIR": str(workdir),
    }
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    build_catalog(arguments.images)
    print(f"catalog of {arguments.images} images built in {time.perf_counter() - started:.1f} s", flush=True)
    manage = [sys.executable, "manage.py"]
    baseline, _, _ = peak_rss_mb([*manage, "check"], env)
    peak, seconds, last_line = peak_rss_mb([*manage, "backfill_tags", "--no-progress", "--max-waiting", "0"], env)
    print(last_line)
    print(f"| {arguments.images} | {peak:.0f} MB | {baseline:.0f} MB | {peak / baseline:.2f}× | {seconds:.0f} s |")


if __name__ == "__main__":
    main()
