"""POST /api/recommendations/ with re-ranking while the model provider hangs or is down.

    .venv/bin/python bench/rerank_deadline.py [--requests 50] [--deadline 1.5]

In-process through Django's whole stack (Django's test client, no network to the app; the
provider is the loopback server over real HTTP, with the openai SDK's defaults: 30 s timeout,
2 retries). A throw-away SQLite file holds the small test catalog; the default routes run on
settings, as after install. One request without re-ranking warms the process first (its first
request imports the views and the SDK). Each scenario sends --requests authenticated re-rank requests, each
with a new context (so none is a cache hit), and prints latency percentiles:

  hanging, memory on    the provider accepts and never answers; as shipped
  hanging, every wait   the same with the cache cleared before each request (no failure
                        memory, no open circuit): every request waits on the provider, so
                        this is the deadline's own bound
  down                  nothing listens on the port; as shipped
Targets (issue): hanging p99 ≤ deadline + 0.3 s; down p99 ≤ 0.3 s after the first failure.
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=1.5)
    options = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="rerank-deadline-")
    os.environ["SHELFSIGHT_VAR_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.conf import settings

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from rest_framework.test import APIClient

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from recommendations import reranking
    from recommendations.services import rebuild_similar_products
    from tests.fakes.openai_server import FakeOpenAIServer, FaultMix
    from tests.recommendations.catalogs import build_small_catalog

    build_small_catalog()
    rebuild_similar_products()
    settings.ALLOWED_HOSTS = ["*"]
    settings.OPENAI_API_KEY = "sk-bench"
    reranking.DEADLINE_SECONDS = options.deadline
    client = APIClient()
    client.force_authenticate(user=get_user_model().objects.create_user("storefront"))

    def run(label: str, *, forget_each_time: bool = False) -> dict:
        cache.clear()  # no circuit, memory or answer left from the previous scenario
        timings, reasons = [], {}
        for number in range(options.requests):
            if forget_each_time:
                cache.clear()
            started = time.perf_counter()
            response = client.post(
                "/api/recommendations/",
                {"session_id": "bench", "viewed": ["p1"], "rerank": True, "context": f"request {number}"},
                format="json",
            )
            timings.append(time.perf_counter() - started)
            reason = response.json()["fallback_reason"]
            reasons[reason] = reasons.get(reason, 0) + 1
        rest = timings[1:]
        print(
            f"{label:<22} first {timings[0]:6.3f} s | after it: p50 {statistics.median(rest):6.3f} s  "
            f"p99 {percentile(rest, 0.99):6.3f} s  max {max(rest):6.3f} s | all {len(timings)}: "
            f"p99 {percentile(timings, 0.99):6.3f} s | {reasons}",
            flush=True,
        )
        return {"timings": timings}

    # The process's first request imports the views (and with them the openai SDK, 1–3 s on this
    # machine): a one-time cost of every new worker process, not of the provider; paid here first.
    client.post("/api/recommendations/", {"session_id": "bench", "viewed": ["p1"]}, format="json")
    print(f"deadline {options.deadline} s, {options.requests} requests per scenario, database in {workdir}")
    with FakeOpenAIServer(models=("gemini-2.5-flash",), hang_seconds=120) as server:
        settings.OPENAI_BASE_URL = server.base_url
        server.set_faults(FaultMix(hang=1.0))
        run("hanging, memory on")
        run("hanging, every wait", forget_each_time=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"
    run("down")


if __name__ == "__main__":
    main()
