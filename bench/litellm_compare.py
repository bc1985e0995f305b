"""The gateway's per-call overhead next to LiteLLM's Router, on the same loopback server, same run.

    .venv/bin/python bench/litellm_compare.py [--calls 400] [--rounds 2]

LiteLLM is not a dependency of the project: the first run creates bench/.venv-litellm and
installs the pinned LITELLM_VERSION there (from the package index), and LiteLLM runs in that
environment with its bundled price map (LITELLM_LOCAL_MODEL_COST_MAP=True), never downloading one.

Both sides call one no-op OpenAI-compatible server (tests/fakes/openai_server.py, no added
latency) started here, with one tiny chat message, no retries: the gateway as shipped (config
snapshot, routing, breaker and budget state from the cache, cost, one LLMCall INSERT into a
throw-away SQLite file) against LiteLLM's Router.completion (num_retries=0), each next to the
bare openai SDK call (chat.completions.create) in its own process, interleaved call by call.
Rounds alternate the two sides so machine load drifts over both alike.

Two figures per side:
  end to end   median call time − median bare SDK call time (moves with the machine's load)
  in call      each call's time minus the time it spent inside httpx's Client.send (the HTTP
               exchange, which both sides share), median; the overhead is that of the side
               minus that of the bare SDK call. Load shifts both parts of one call alike, so
               this is the steady figure on a shared machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from http_timing import time_http_sends  # bench/ is this script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LITELLM_VERSION = "1.110.2"
LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
LITELLM_PYTHON = LITELLM_VENV / "bin" / "python"
WARM_UP = 20


def ensure_litellm() -> None:
    if LITELLM_PYTHON.exists():
        return
    print(f"creating {LITELLM_VENV} with litellm=={LITELLM_VERSION} (once)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    subprocess.run(
        [str(LITELLM_PYTHON), "-m", "pip", "install", "--quiet", f"litellm=={LITELLM_VERSION}"], check=True
    )




def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def litellm_round(base_url: str, calls: int) -> dict[str, list[int]]:
    completed = subprocess.run(
        [str(LITELLM_PYTHON), str(ROOT / "bench" / "litellm_router_calls.py"), base_url, str(calls)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per side (split over the rounds)")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    ensure_litellm()

    workdir = tempfile.mkdtemp(prefix="litellm-compare-")
    os.environ["SHELFSIGHT_VAR_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import openai

    from llm import config as llm_config
    from llm import gateway
    from llm.models import LLMCall
    from llm.types import ChatRequest
    from tests.fakes.openai_server import FakeOpenAIServer

    per_round = max(1, options.calls // options.rounds)
    gateway_samples: dict[str, list[int]] = {"gateway": [], "bare": [], "gateway_in_call": [], "bare_in_call": []}
    litellm_samples: dict[str, list[int]] = {"router": [], "bare": [], "router_in_call": [], "bare_in_call": []}
    in_send = time_http_sends()
    with FakeOpenAIServer(models=("gemini-2.5-flash",)) as server:
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-bench"
        settings.SHELFSIGHT_VISION_MODEL = "gemini-2.5-flash"
        llm_config.DEFAULT_MAX_RETRIES = 0
        messages = [{"role": "user", "content": "ping"}]
        request = ChatRequest(route="vision-tagging", messages=messages, routing_key="a" * 64)
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-bench", timeout=5, max_retries=0)

        def through_gateway():
            gateway.complete(request)

        def bare():
            client.chat.completions.create(model="gemini-2.5-flash", messages=messages, temperature=0.0)

        for _ in range(WARM_UP):
            through_gateway()
            bare()
        started = time.time()
        for _ in range(options.rounds):
            for _ in range(per_round):
                for label, function in (("gateway", through_gateway), ("bare", bare)):
                    in_send[0] = 0
                    began = time.perf_counter_ns()
                    function()
                    elapsed = time.perf_counter_ns() - began
                    gateway_samples[label].append(elapsed)
                    gateway_samples[f"{label}_in_call"].append(elapsed - in_send[0])
            for label, samples in litellm_round(server.base_url, per_round).items():
                litellm_samples[label] += samples
        elapsed = time.time() - started
        logged = LLMCall.objects.count()

    print(f"{options.rounds} rounds, {per_round} calls per side per round, {elapsed:.0f} s; {logged} LLMCall rows")
    print(f"{'':<26}{'median':>9}{'bare SDK':>10}{'overhead':>10}{'in call':>10}{'bare':>8}{'overhead':>10}")
    overheads = {}
    for label, name, samples in (
        ("Shelfsight gateway", "gateway", gateway_samples),
        (f"LiteLLM Router {LITELLM_VERSION}", "router", litellm_samples),
    ):
        end_to_end = median_us(samples[name]) - median_us(samples["bare"])
        in_call = median_us(samples[f"{name}_in_call"]) - median_us(samples["bare_in_call"])
        overheads[name] = (end_to_end, in_call)
        print(
            f"{label:<26}{median_us(samples[name]):>7.0f}µs{median_us(samples['bare']):>8.0f}µs{end_to_end:>8.0f}µs"
            f"{median_us(samples[f'{name}_in_call']):>8.0f}µs{median_us(samples['bare_in_call']):>6.0f}µs"
            f"{in_call:>8.0f}µs"
        )
    for index, kind in enumerate(("end to end", "in call")):
        gateway_overhead, litellm_overhead = overheads["gateway"][index], overheads["router"][index]
        ratio = f"{litellm_overhead / gateway_overhead:.1f}×" if gateway_overhead > 0 else "n/a (gateway at noise)"
        print(f"LiteLLM overhead / gateway overhead, {kind}: {ratio} (goal ≥ 10×)")


if __name__ == "__main__":
    main()
