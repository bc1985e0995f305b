"""Run by bench/litellm_compare.py inside bench/.venv-litellm (LiteLLM is not a project dependency).

    bench/.venv-litellm/bin/python bench/litellm_router_calls.py BASE_URL CALLS

Times LiteLLM's Router and the bare openai SDK call it wraps against the same loopback server,
interleaved call by call, and prints one JSON object: {"router": [ns...], "bare": [ns...],
"router_in_call": [ns...], "bare_in_call": [ns...]}; "in call" is a call's time minus the time
spent inside httpx's Client.send (the HTTP exchange itself), see bench/litellm_compare.py.
"""

import json
import os
import sys
import time

# The price map bundled with LiteLLM: no download at import (there is no network here anyway).
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LITELLM_LOG", "ERROR")

import litellm
import openai
from http_timing import time_http_sends  # bench/ is this script's folder, first on sys.path
from litellm import Router

MODEL = "gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "ping"}]
WARM_UP = 20




def main() -> None:
    base_url, calls = sys.argv[1], int(sys.argv[2])
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    router = Router(
        model_list=[
            {
                "model_name": MODEL,
                "litellm_params": {"model": f"openai/{MODEL}", "api_base": base_url, "api_key": "sk-bench"},
            }
        ],
        num_retries=0,
        timeout=5,
    )
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench", timeout=5, max_retries=0)

    def through_router():
        router.completion(model=MODEL, messages=MESSAGES, temperature=0.0)

    def bare():
        client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.0)

    in_send = time_http_sends()
    for _ in range(WARM_UP):
        through_router()
        bare()
    samples = {"router": [], "bare": [], "router_in_call": [], "bare_in_call": []}
    for _ in range(calls):
        for label, function in (("router", through_router), ("bare", bare)):
            in_send[0] = 0
            started = time.perf_counter_ns()
            function()
            elapsed = time.perf_counter_ns() - started
            samples[label].append(elapsed)
            samples[f"{label}_in_call"].append(elapsed - in_send[0])
    print(json.dumps(samples))


if __name__ == "__main__":
    main()
