"""An OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It speaks real HTTP to the real openai SDK: ``GET /v1/models`` and
``POST /v1/chat/completions`` (plain and ``stream: true``). What it answers is set by the
test: a fixed or computed answer (``SchemaInstances`` answers a random valid instance of the
JSON schema the request was sent, all that a strict structured-output provider promises),
scripted replies for the next calls, a seeded mix of faults (429 with Retry-After, 5xx, hangs
past the client's timeout, truncated JSON, HTTP 200 with content of no use), and a latency
with jitter. Every request body is recorded for assertions.

Token usage is estimated the way providers bill: about four characters a text token and
258 tokens a 768-pixel image tile (Gemini's published rule), so cost figures measured
against this server follow the payloads the pipeline really sends.

Run standalone for benchmarks or a demo:
    python -m tests.fakes.openai_server --port 8765 --latency-ms 180 --jitter-ms 40
"""

import argparse
import base64
import io
import json
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. ``content`` is the assistant message text."""

    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None
    hang: bool = False
    truncate: bool = False
    body: bytes | None = None
    usage: tuple[int, int] | None = None

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> "Reply":
        return cls(
            status=429,
            headers={"Retry-After": f"{retry_after:g}"},
            body=json.dumps({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}).encode(),
        )

    @classmethod
    def server_error(cls, status: int = 500) -> "Reply":
        return cls(status=status, body=json.dumps({"error": {"message": "Internal error", "type": "server"}}).encode())

    @classmethod
    def unusable(cls) -> "Reply":
        """HTTP 200, well-formed, and nothing the caller asked for."""
        return cls(content="I'm sorry, I can't help with identifying products in images.")

    @classmethod
    def not_found(cls) -> "Reply":
        return cls(
            status=404,
            body=json.dumps({"error": {"message": "The model does not exist", "code": "model_not_found"}}).encode(),
        )


@dataclass(frozen=True)
class FaultMix:
    """Fractions of requests that fail each way; the rest answer normally. Seeded, so repeatable."""

    rate_limited: float = 0.0
    server_error: float = 0.0
    hang: float = 0.0
    truncated: float = 0.0
    unusable: float = 0.0
    retry_after: float = 0.05
    seed: int = 1


class SchemaInstances:
    """An answer function: a random valid instance of the ``json_schema`` in the request's
    ``response_format`` (hypothesis-jsonschema), as a provider held to the schema in strict
    mode may answer. Instances are drawn ``pool`` at a time per schema, seeded, so runs repeat;
    drawing takes seconds, so pass the schemas you expect as ``ready_for`` to draw them before
    the first request (it would outlast a client's timeout). No schema: "{}"."""

    def __init__(self, *, seed: int = 1, pool: int = 100, ready_for: tuple[dict[str, Any], ...] = ()):
        self.pool = pool
        self._seed = seed
        self._random = random.Random(seed)
        for schema in ready_for:
            drawn_instances(schema, count=pool, seed=seed)

    def __call__(self, body: dict[str, Any]) -> str:
        schema = body.get("response_format", {}).get("json_schema", {}).get("schema")
        if schema is None:
            return "{}"
        instances = drawn_instances(schema, count=self.pool, seed=self._seed)
        with _drawing:
            return json.dumps(self._random.choice(instances))


# Drawing is slow (seconds per hundred), so a pool serves every server of the process.
_pools: dict[tuple[str, int, int], list[Any]] = {}
_drawing = threading.Lock()


def drawn_instances(schema: dict[str, Any], *, count: int, seed: int) -> list[Any]:
    key = (json.dumps(schema, sort_keys=True), count, seed)
    with _drawing:
        if key not in _pools:
            _pools[key] = _draw_instances(schema, count=count, seed=seed)
        return _pools[key]


def _draw_instances(schema: dict[str, Any], *, count: int, seed: int) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded
    from hypothesis_jsonschema import from_schema

    drawn: list[Any] = []

    @seeded(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(schema))
    def collect(instance: Any) -> None:
        drawn.append(instance)

    collect()
    return drawn


def estimate_text_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def estimate_image_tokens(data_url: str) -> int:
    """258 tokens per 768×768 tile, as Gemini bills; 258 for anything unreadable."""
    try:
        from PIL import Image

        payload = base64.b64decode(data_url.split(",", 1)[1])
        with Image.open(io.BytesIO(payload)) as image:
            width, height = image.size
    except Exception:  # a bad image is the client's problem to be tested, not ours
        return 258
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            total += estimate_text_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "text":
                    total += estimate_text_tokens(part.get("text", ""))
                elif part.get("type") == "image_url":
                    total += estimate_image_tokens(part.get("image_url", {}).get("url", ""))
        total += 4  # per-message framing
    response_format = body.get("response_format")
    if response_format:
        total += estimate_text_tokens(json.dumps(response_format))
    return total


class _ListeningServer(ThreadingHTTPServer):
    daemon_threads = True
    # A cluster's batches open dozens of connections at once; the default backlog of 5 made the
    # kernel refuse some of them, which a provider's load balancer would not.
    request_queue_size = 256


class FakeOpenAIServer:
    """A threaded loopback server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("gemini-2.5-flash",),
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        jitter: float = 0.0,
        hang_seconds: float = 30.0,
        api_key: str | None = None,
    ):
        self.models = list(models)
        self.latency = latency
        self.jitter = jitter
        self.hang_seconds = hang_seconds
        self.api_key = api_key
        # Some providers echo the presented key in 401 errors; tests of redaction turn this on.
        self.echo_key_in_errors = False
        self.answer: Callable[[dict[str, Any]], str] | str | dict = "{}"
        # Picks a reply from the request itself (e.g. fail one kind of request only); None: as usual.
        self.reply_for: Callable[[dict[str, Any]], Reply | None] | None = None
        self.faults = FaultMix()
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.request_times: list[float] = []
        self._scripted: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._random = random.Random(self.faults.seed)
        self._stopping = threading.Event()
        self._httpd = _ListeningServer((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FakeOpenAIServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        """Answer the next calls with these replies, in order, before the normal answer."""
        with self._lock:
            self._scripted.extend(replies)

    def set_faults(self, faults: FaultMix) -> None:
        with self._lock:
            self.faults = faults
            self._random = random.Random(faults.seed)

    def reset(self) -> None:
        with self._lock:
            self._scripted.clear()
            self.requests.clear()
            self.headers_seen.clear()
            self.request_times.clear()
            self.faults = FaultMix()
            self._random = random.Random(self.faults.seed)
            self.answer = "{}"
            self.reply_for = None

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [body for body in self.requests if "messages" in body]

    # --- behaviour ---------------------------------------------------------------------------
    def _next_reply(self, body: dict[str, Any]) -> Reply:
        chosen = self.reply_for(body) if self.reply_for is not None else None
        if chosen is not None:
            return chosen
        with self._lock:
            if self._scripted:
                return self._scripted.popleft()
            faults, roll = self.faults, self._random.random()
        thresholds = [
            (faults.rate_limited, lambda: Reply.rate_limited(faults.retry_after)),
            (faults.server_error, Reply.server_error),
            (faults.hang, lambda: Reply(hang=True)),
            (faults.truncated, lambda: Reply(truncate=True)),
            (faults.unusable, Reply.unusable),
        ]
        for share, make in thresholds:
            if roll < share:
                return make()
            roll -= share
        return Reply()

    def _content_for(self, body: dict[str, Any]) -> str:
        answer = self.answer
        if callable(answer):
            answer = answer(body)
        return answer if isinstance(answer, str) else json.dumps(answer)

    def _delay(self) -> float:
        if not self.latency:
            return 0.0
        with self._lock:
            jitter = self._random.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(0.0, self.latency + jitter)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without TCP_NODELAY, delayed ACKs add
            # ~40 ms to every keep-alive call and drown what benchmarks measure.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _authorised(self) -> bool:
                if server.api_key is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {server.api_key}":
                    return True
                message = "Incorrect API key provided"
                if server.echo_key_in_errors:
                    message += f": {self.headers.get('Authorization', '').removeprefix('Bearer ')}"
                self._send_json(401, {"error": {"message": message, "code": "invalid_api_key"}})
                return False

            def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                self._send_bytes(status, json.dumps(payload).encode(), headers)

            def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                if self.path.rstrip("/").endswith("/models"):
                    listing = [{"id": model, "object": "model", "owned_by": "fake"} for model in server.models]
                    self._send_json(200, {"object": "list", "data": listing})
                else:
                    self._send_json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self._authorised():
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send_json(404, {"error": {"message": "not found"}})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send_json(400, {"error": {"message": "body is not JSON"}})
                    return
                with server._lock:
                    server.requests.append(body)
                    server.headers_seen.append(dict(self.headers))
                    server.request_times.append(time.monotonic())
                reply = Reply.not_found() if body.get("model") not in server.models else server._next_reply(body)
                delay = reply.delay if reply.delay is not None else server._delay()
                if reply.hang:
                    server._stopping.wait(server.hang_seconds)
                    return
                if delay:
                    time.sleep(delay)
                if reply.body is not None and reply.status != 200:
                    self._send_bytes(reply.status, reply.body, reply.headers)
                    return
                content = reply.content if reply.content is not None else server._content_for(body)
                prompt_tokens, completion_tokens = reply.usage or (
                    estimate_prompt_tokens(body),
                    estimate_text_tokens(content),
                )
                if body.get("stream"):
                    self._stream(body, content, prompt_tokens, completion_tokens)
                    return
                payload = {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                }
                data = json.dumps(payload).encode()
                if reply.truncate:
                    data = data[: len(data) // 2]
                self._send_bytes(reply.status, data, reply.headers)

            def _stream(self, body: dict, content: str, prompt_tokens: int, completion_tokens: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
                pieces = [content[i : i + 24] for i in range(0, len(content), 24)] or [""]
                for index, piece in enumerate(pieces):
                    chunk = {
                        "id": completion_id,
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"role": "assistant", "content": piece} if index == 0 else {"content": piece},
                                "finish_reason": None,
                            }
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                final = {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                }
                self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=180.0)
    parser.add_argument("--jitter-ms", type=float, default=40.0)
    parser.add_argument("--models", default="gemini-2.5-flash,deepseek-v3.2,gpt-4.1,claude-sonnet-4.5")
    parser.add_argument("--answer-file", help="JSON file whose content is every answer")
    arguments = parser.parse_args()
    server = FakeOpenAIServer(
        models=tuple(arguments.models.split(",")),
        host=arguments.host,
        port=arguments.port,
        latency=arguments.latency_ms / 1000,
        jitter=arguments.jitter_ms / 1000,
    )
    if arguments.answer_file:
        with open(arguments.answer_file) as handle:
            server.answer = handle.read()
    print(f"OpenAI-compatible test server on {server.base_url}", flush=True)
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
