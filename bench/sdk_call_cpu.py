"""CPU of one tagging request in the calling thread: the SDK's typed create() against the
plain post() that llm.providers.openai_compatible makes, same body, same client, same server.

The body is a real tagging request: the answer schema as response_format and a prepared
640×480 product photo as a data URL. The loopback model server answers at once; its CPU is on
its own thread and not counted. Rounds alternate the two ways so a noisy machine hits both.

    .venv/bin/python bench/sdk_call_cpu.py [--calls 150] [--rounds 6]
"""

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=6)
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from openai.types.chat import ChatCompletion
    from throughput import distinct_jpegs

    from llm.providers import openai_compatible
    from tagging.analysis.prepare import prepare_image
    from tagging.analysis.prompts import messages_for
    from tagging.analysis.schema import schema_for, schema_name
    from tests.fakes.openai_server import FakeOpenAIServer
    from tests.reliability.model_answers import tagging_answer

    jpeg = prepare_image(distinct_jpegs(1, seed=5)[0]).jpeg
    messages = messages_for(workflow="full", image_data_url="data:image/jpeg;base64," + base64.b64encode(jpeg).decode())
    response_format = openai_compatible.response_format_for(
        schema=schema_for("full"), name=schema_name("full"), supports_json_schema=True
    )
    with FakeOpenAIServer(models=("gemini-2.5-flash",)) as server:
        server.answer = tagging_answer
        client = openai_compatible.client_for(base_url=server.base_url, api_key="sk-bench", timeout=10, max_retries=0)
        body = {"model": "gemini-2.5-flash", "messages": messages, "response_format": response_format}
        ways = {
            "create() (typed, baseline)": lambda: client.chat.completions.create(**body),
            "post() (as shipped)": lambda: client.post("/chat/completions", body=body, cast_to=ChatCompletion),
        }
        answers = {name: call().choices[0].message.content for name, call in ways.items()}
        assert len(set(answers.values())) == 1, "the two ways must get the same answer"
        sent = server.chat_requests[-2:]
        assert sent[0] == sent[1], "the two ways must send the same body"
        per_call: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(options.rounds):
            for name, call in ways.items():
                started = time.thread_time()
                for _ in range(options.calls):
                    call()
                per_call[name].append((time.thread_time() - started) * 1000 / options.calls)
    print(f"request body {len(jpeg) // 1024} KB JPEG as a data URL; {options.rounds} rounds × {options.calls} calls")
    medians = {name: statistics.median(values) for name, values in per_call.items()}
    for name, values in per_call.items():
        rounds = ", ".join(f"{value:.2f}" for value in values)
        print(f"{name:28} median {medians[name]:.2f} ms CPU per call (rounds: {rounds})")
    baseline, shipped = medians.values()
    print(f"saved {baseline - shipped:.2f} ms per call; create()/post() = {baseline / shipped:.2f}×")


if __name__ == "__main__":
    main()
