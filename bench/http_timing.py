"""Timing the HTTP exchange inside a call, shared by bench/litellm_compare.py and the script it
runs in LiteLLM's own environment (bench/litellm_router_calls.py)."""

import importlib
import time


def time_http_sends() -> list[int]:
    """Add the time every HTTP exchange takes to the returned one-item list (the openai SDK 3.x
    sends through httpx2; older ones, and LiteLLM's own calls, through httpx)."""
    in_send = [0]
    for name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        real_send = module.Client.send

        def timed_send(self, *args, real_send=real_send, **kwargs):
            began = time.perf_counter_ns()
            try:
                return real_send(self, *args, **kwargs)
            finally:
                in_send[0] += time.perf_counter_ns() - began

        module.Client.send = timed_send
    return in_send
