"""Storefront API over real HTTP: gunicorn on the benchmark catalog, driven by bench/load_http.py.

Starts gunicorn (production settings: DJANGO_DEBUG=0, throttling on with rates high enough
not to refuse the benchmark, the shared cache in Redis when reachable) on the catalog made
by bench/similar_catalog.py, then loads each scenario and prints rps, p50/p99 and errors.

    .venv/bin/python bench/api_http.py [--workers 2] [--connections 16] [--seconds 20]
        [--worker-class sync|gthread] [--threads 4] [--scenarios similar,detail,list]
"""

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_http import run_load  # noqa: E402
from bench.similar_catalog import DEFAULT_DATABASE, setup_django  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_reachable(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def scenario_urls(base: str, skus: list[str], name: str) -> list[str]:
    if name == "similar":
        return [f"{base}/api/products/{sku}/similar/" for sku in skus]
    if name == "detail":
        return [f"{base}/api/products/{sku}/" for sku in skus]
    if name == "list":
        return [f"{base}/api/products/?colour=colour-{index % 8}&page_size=24" for index in range(len(skus))]
    raise ValueError(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scenarios", default="similar,detail,list")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    arguments = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DEFAULT_DATABASE}")
    setup_django()
    from catalog.models import Product

    skus = list(Product.objects.public().values_list("sku", flat=True))
    random.Random(5).shuffle(skus)
    skus = skus[:5000]

    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SHELFSIGHT_THROTTLE_ANON": "100000000/min",
        "SHELFSIGHT_THROTTLE_USER": "100000000/min",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    if redis_reachable(arguments.redis_url):
        environment["REDIS_URL"] = arguments.redis_url
        environment["SHELFSIGHT_CACHE_PREFIX"] = "bench-storefront"
        cache = f"redis ({arguments.redis_url})"
    else:
        cache = "database cache (no Redis reachable)"
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(arguments.workers),
        "--worker-class",
        arguments.worker_class,
        "--threads",
        str(arguments.threads),
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    print(f"gunicorn: {arguments.workers} × {arguments.worker_class} (threads {arguments.threads}); cache: {cache}")
    print(f"CPUs visible: {os.cpu_count()}; load driver runs on the same machine")
    server = subprocess.Popen(command, cwd=ROOT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urlopen(f"{base}/api/tags/?limit=1", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        failures = 0
        for name in arguments.scenarios.split(","):
            result = run_load(
                urls=scenario_urls(base, skus, name),
                connections=arguments.connections,
                seconds=arguments.seconds,
                warmup_seconds=3,
            )
            print(f"{name:<8} {result.summary()}")
            for sample in result.error_samples:
                print(f"  error: {sample}")
            failures += result.errors
        return 1 if failures else 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
