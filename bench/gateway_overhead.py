"""The model gateway's own overhead per call, against a no-op loopback server.

    .venv/bin/python bench/gateway_overhead.py [--calls 400] [--decisions 20000] [--cache locmem|db]

Prints medians (µs) of:
  routing decision   config snapshot + canary bucket + plan (no I/O); target ≤ 100 µs
  provider call      the bare SDK call the gateway makes (baseline, same client and server)
  gateway, no log    gateway.complete with the LLMCall write stubbed out
  gateway, with log  gateway.complete as shipped (one LLMCall INSERT on SQLite)
and the gateway's overhead = gateway median − provider-call median, plus the steadier in-call
overhead: each gateway call's time minus the provider call inside it.
A throw-away SQLite database in a temporary directory is migrated first.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--cache", choices=("locmem", "db"), default="locmem")
    options = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="gateway-bench-")
    os.environ["SHELFSIGHT_VAR_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.conf import settings

    django.setup()
    if options.cache == "locmem":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    from llm import config, gateway, routing
    from llm.models import LLMCall
    from llm.providers import openai_compatible
    from llm.types import ChatRequest
    from tests.fakes.openai_server import FakeOpenAIServer

    with FakeOpenAIServer(models=("gemini-2.5-flash",)) as server:
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-bench"
        settings.SHELFSIGHT_VISION_MODEL = "gemini-2.5-flash"
        config.DEFAULT_MAX_RETRIES = 0
        messages = [{"role": "user", "content": "ping"}]
        request = ChatRequest(route="vision-tagging", messages=messages, routing_key="a" * 64)

        decisions = []
        for index in range(options.decisions):
            started = time.perf_counter_ns()
            route = config.route_config("vision-tagging")
            routing.plan(route, routing_key=f"{index:064x}", tier=None, needs_vision=True)
            decisions.append(time.perf_counter_ns() - started)

        def provider_call():
            openai_compatible.chat(
                base_url=server.base_url,
                api_key="sk-bench",
                model="gemini-2.5-flash",
                messages=messages,
                timeout=5.0,
                max_retries=0,
                temperature=0.0,
            )

        def timed(function, count):
            samples = []
            for _ in range(20):
                function()  # warm the connection pool and the snapshot
            for _ in range(count):
                started = time.perf_counter_ns()
                function()
                samples.append(time.perf_counter_ns() - started)
            return samples

        # Interleave the three so drift in the machine's load hits all of them alike.
        baseline, with_log, without_log = [], [], []
        real_create = LLMCall.objects.create

        class Stub:
            pk = 0

        for _ in range(4):
            baseline += timed(provider_call, options.calls // 4)
            with_log += timed(lambda: gateway.complete(request), options.calls // 4)
            LLMCall.objects.create = lambda **fields: Stub()
            try:
                without_log += timed(lambda: gateway.complete(request), options.calls // 4)
            finally:
                LLMCall.objects.create = real_create

        # Overhead measured inside each call: gateway time minus the provider call it wraps,
        # so load on the machine (which shifts both alike) mostly cancels out.
        real_chat, inner = openai_compatible.chat, []

        def timed_chat(**arguments):
            started = time.perf_counter_ns()
            try:
                return real_chat(**arguments)
            finally:
                inner.append(time.perf_counter_ns() - started)

        openai_compatible.chat = timed_chat
        paired = {"with log write": [], "no log write": []}
        try:
            for _ in range(options.calls):
                for label in paired:
                    if label == "no log write":
                        LLMCall.objects.create = lambda **fields: Stub()
                    started = time.perf_counter_ns()
                    gateway.complete(request)
                    paired[label].append(time.perf_counter_ns() - started - inner[-1])
                    LLMCall.objects.create = real_create
        finally:
            openai_compatible.chat = real_chat
            LLMCall.objects.create = real_create

    provider_median = median_us(baseline)
    print(f"cache backend: {options.cache}; database: SQLite (WAL) in {workdir}")
    print(f"routing decision       median {median_us(decisions):8.1f} µs  (n={len(decisions)})")
    print(f"provider call (base)   median {provider_median:8.1f} µs  (n={len(baseline)})")
    for label, samples in (("gateway, no log write", without_log), ("gateway, with log write", with_log)):
        value = median_us(samples)
        print(
            f"{label:<22} median {value:8.1f} µs  overhead {value - provider_median:7.1f} µs "
            f"({value / provider_median:.2f}× baseline, n={len(samples)})"
        )

    for label, samples in paired.items():
        print(f"overhead in-call, {label:<15} median {median_us(samples):7.1f} µs  (gateway time − its provider call)")


if __name__ == "__main__":
    main()
