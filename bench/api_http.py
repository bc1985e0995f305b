"""Storefront API over real HTTP: gunicorn on the benchmark catalog, driven by wrk (or bench/load_http.py).

Starts gunicorn (production settings: DJANGO_DEBUG=0, throttling on with rates high enough
not to refuse the benchmark, the shared cache in Redis when reachable, persistent database
connections) on the catalog made by bench/similar_catalog.py, then loads each scenario and
prints req/s, p50/p99 and errors (any status but 200, and socket errors).

The load comes from wrk (C, one thread by default, bench/load_urls.lua) when it is installed
(`bin/install --dev`), else from bench/load_http.py, whose Python threads take a good share
of two cores themselves (its figures are a lower bound). Scenarios:

  similar         GET /api/products/<sku>/similar/, each SKU read once: every request is the
                  first read of its SKU (the response cache starts empty: each server start
                  gets its own cache key prefix)
  similar-repeat  the SKUs of the last ``similar`` scenario again (response cache hits)
  detail, list    product detail; list filtered by a colour tag

    .venv/bin/python bench/api_http.py [--workers 3] [--worker-class sync|gthread] [--threads 4]
        [--connections 16] [--seconds 20] [--scenarios similar,similar-repeat,detail,list]
        [--rounds 3] [--driver auto|wrk|python] [--server-root PATH] [--conn-max-age 60]

``--rounds N`` starts a fresh server N times and prints each scenario's median; ``--server-root``
serves another checkout of the project (e.g. a baseline commit) with this script and catalog.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_http import run_load  # noqa: E402
from bench.similar_catalog import DEFAULT_DATABASE, setup_django  # noqa: E402

WRK_SCRIPT = ROOT / "bench" / "load_urls.lua"
WARMUP_SECONDS = 3.0


@dataclass
class Outcome:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    detail: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f} s: {self.rps:.0f} req/s, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, errors {self.errors} {self.detail}"
        )


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


def scenario_paths(skus: list[str], name: str) -> list[str]:
    if name in {"similar", "similar-repeat"}:
        return [f"/api/products/{sku}/similar/" for sku in skus]
    if name == "detail":
        return [f"/api/products/{sku}/" for sku in skus]
    if name == "list":
        return [f"/api/products/?colour=colour-{index % 8}&page_size=24" for index in range(len(skus))]
    raise ValueError(name)


def load_with_wrk(*, base: str, paths: list[str], connections: int, seconds: float, threads: int) -> Outcome:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(paths) + "\n")
        urls_file = handle.name
    try:
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{max(connections, threads)}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            base,
            "--",
            urls_file,
            str(threads),
        ]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        os.unlink(urls_file)
    for line in finished.stderr.splitlines():
        print(f"  wrk: {line}")
    line = next((line for line in finished.stdout.splitlines() if line.startswith("wrk-result ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result (exit {finished.returncode}):\n{finished.stdout}")
    result = json.loads(line.removeprefix("wrk-result "))
    socket_errors = sum(result[name] for name in ("connect", "read", "write", "timeout"))
    elapsed = result["duration_us"] / 1e6
    return Outcome(
        requests=result["requests"],
        seconds=elapsed,
        rps=result["requests"] / elapsed,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=result["non_200"] + socket_errors,
        detail={
            "non_200": result["non_200"],
            "socket_errors": socket_errors,
            **({"urls_read_twice": True} if result["wrapped"] else {}),
        },
    )


def load_with_python(*, base: str, paths: list[str], connections: int, seconds: float) -> Outcome:
    result = run_load(urls=[base + path for path in paths], connections=connections, seconds=seconds)
    return Outcome(
        requests=result.requests,
        seconds=result.seconds,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        detail={"statuses": result.statuses, "samples": result.error_samples},
    )


def server_environment(arguments, cache_prefix: str) -> tuple[dict, str]:
    environment = {
        **os.environ,
        # No rate limits, no HTTPS redirect, quiet logs; the server root must have bench/settings.py.
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Persistent connections, as a busy deployment runs.
        "BENCH_CONN_MAX_AGE": str(arguments.conn_max_age),
    }
    if redis_reachable(arguments.redis_url):
        environment["REDIS_URL"] = arguments.redis_url
        environment["BENCH_CACHE_PREFIX"] = cache_prefix
        return environment, f"redis ({arguments.redis_url})"
    return environment, "database cache (no Redis reachable)"


def start_server(arguments, environment: dict, port: int) -> subprocess.Popen:
    server_root = Path(arguments.server_root).resolve()
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
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=server_root, env=environment)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urlopen(f"{base}/api/tags/?limit=1", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 30 s")


def read_once(skus: list[str], requests: int, *, slices: int, even: bool) -> list[str]:
    """The SKUs a ``similar`` run of ``requests`` requests read: the start of each slice of the list.

    Each wrk thread or Python connection walks its own slice. wrk threads share the requests
    evenly; the Python driver's connections do not quite (``even=False``), so only 90 % of an
    even share is taken from each.
    """
    share, per_slice = len(skus) // slices, requests // slices
    if not even:
        per_slice = int(per_slice * 0.9)
    return [sku for slice_ in range(slices) for sku in skus[slice_ * share : slice_ * share + per_slice]]


def one_round(arguments, *, skus: list[str], warmup_skus: list[str], use_wrk: bool, number: int) -> dict[str, Outcome]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment, cache = server_environment(arguments, cache_prefix=f"bench-storefront-{os.getpid()}-{time.time_ns()}")
    if number == 1:
        print(
            f"gunicorn: {arguments.workers} × {arguments.worker_class} (threads {arguments.threads}) from "
            f"{Path(arguments.server_root).resolve()}; cache: {cache}; CONN_MAX_AGE {arguments.conn_max_age}"
        )
        print(
            f"CPUs visible: {os.cpu_count()}; load driver on the same machine: "
            + (f"wrk ({arguments.wrk_threads} thread)" if use_wrk else "bench/load_http.py (Python threads)")
        )

    def load(paths: list[str], seconds: float) -> Outcome:
        if use_wrk:
            return load_with_wrk(
                base=base,
                paths=paths,
                connections=arguments.connections,
                seconds=seconds,
                threads=arguments.wrk_threads,
            )
        return load_with_python(base=base, paths=paths, connections=arguments.connections, seconds=seconds)

    server = start_server(arguments, environment, port)
    outcomes = {}
    try:
        # Warm the workers' code paths and connections on SKUs the scenarios never read.
        load(scenario_paths(warmup_skus, "similar"), WARMUP_SECONDS)
        first_reads: list[str] = skus
        for name in arguments.scenarios.split(","):
            paths = scenario_paths(first_reads if name == "similar-repeat" else skus, name)
            load_average = os.getloadavg()[0]
            outcome = load(paths, arguments.seconds)
            outcome.detail["load_before"] = round(load_average, 1)
            outcomes[name] = outcome
            print(f"  round {number} {name:<15} {outcome.summary()}", flush=True)
            if name == "similar":
                first_reads = read_once(
                    skus,
                    outcome.requests,
                    slices=arguments.wrk_threads if use_wrk else arguments.connections,
                    even=use_wrk,
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if "BENCH_CACHE_PREFIX" in environment:
            forget_cached(arguments.redis_url, prefix=environment["BENCH_CACHE_PREFIX"])
    return outcomes


def forget_cached(url: str, *, prefix: str) -> None:
    """Drop this round's responses from Redis (tens of thousands of them) instead of leaving them to expire."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=5000))
    for start in range(0, len(keys), 5000):
        client.unlink(*keys[start : start + 5000])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)  # sync × 3 did best on 2 cores (BENCHMARKS.md)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scenarios", default="similar,similar-repeat,detail,list")
    parser.add_argument("--rounds", type=int, default=1, help="fresh server per round; medians printed")
    parser.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--conn-max-age", type=int, default=60, help="seconds; 0 = a connection per request")
    parser.add_argument("--server-root", default=str(ROOT), help="the checkout gunicorn serves")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    arguments = parser.parse_args()
    use_wrk = arguments.driver == "wrk" or (arguments.driver == "auto" and shutil.which("wrk") is not None)
    if arguments.driver == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (bin/install --dev installs it)")

    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DEFAULT_DATABASE}")
    setup_django()
    from catalog.models import Product

    # Every active SKU, shuffled: a 20 s run reads each at most once (see bench/load_urls.lua).
    skus = list(Product.objects.public().order_by("id").values_list("sku", flat=True))
    random.Random(5).shuffle(skus)
    warmup_skus, skus = skus[:3000], skus[3000:]

    rounds = [
        one_round(arguments, skus=skus, warmup_skus=warmup_skus, use_wrk=use_wrk, number=number)
        for number in range(1, arguments.rounds + 1)
    ]
    errors = 0
    print(f"medians over {len(rounds)} round(s):")
    for name in arguments.scenarios.split(","):
        outcomes = [round_[name] for round_ in rounds]
        errors += sum(outcome.errors for outcome in outcomes)
        print(
            f"{name:<15} {statistics.median(o.rps for o in outcomes):7.0f} req/s  "
            f"p50 {statistics.median(o.p50_ms for o in outcomes):6.1f} ms  "
            f"p99 {statistics.median(o.p99_ms for o in outcomes):6.1f} ms  "
            f"errors {sum(o.errors for o in outcomes)}  "
            f"(req/s per round: {', '.join(f'{o.rps:.0f}' for o in outcomes)}; "
            f"load before: {', '.join(str(o.detail['load_before']) for o in outcomes)})"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
