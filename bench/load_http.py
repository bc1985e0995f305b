"""A small HTTP load driver: N keep-alive connections for T seconds against a list of URLs.

Each connection is a thread with its own persistent http.client connection, taking URLs from
the list round-robin (each thread starts at a different offset). Prints requests per second,
latency percentiles and errors (non-2xx, or any status not in --ok-status, and connection
failures), as text or JSON. Reusable from Python: ``run_load(urls=..., connections=..., seconds=...)``.

    .venv/bin/python bench/load_http.py --connections 16 --seconds 20 --urls-file urls.txt
    .venv/bin/python bench/load_http.py -c 64 -t 30 http://127.0.0.1:8000/api/products/ --json

A thread-per-connection client spends CPU too: when client and server share the machine,
the figure is a lower bound of what the server alone can do.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    connections: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f} s over {self.connections} connections: "
            f"{self.rps:.0f} req/s, p50 {self.p50_ms:.1f} ms, p90 {self.p90_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms, errors {self.errors} "
            f"(statuses {dict(sorted(self.statuses.items()))})"
        )


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


def _worker(
    *,
    urls: list[str],
    offset: int,
    deadline: float,
    headers: dict[str, str],
    ok_statuses: set[int],
    timeout: float,
    latencies: list[float],
    statuses: Counter,
    errors: list[str],
    lock: threading.Lock,
) -> None:
    local_latencies, local_statuses, local_errors = [], Counter(), []
    connection = None
    index = offset
    while time.perf_counter() < deadline:
        parts = urlsplit(urls[index % len(urls)])
        index += 1
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            local_statuses[str(response.status)] += 1
            if response.status not in ok_statuses:
                local_errors.append(f"{response.status} {path}")
            local_latencies.append(elapsed)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            local_statuses["connection-error"] += 1
            local_errors.append(f"{type(error).__name__}: {error} {path}")
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()
    with lock:
        latencies.extend(local_latencies)
        statuses.update(local_statuses)
        errors.extend(local_errors)


def run_load(
    *,
    urls: list[str],
    connections: int = 16,
    seconds: float = 10.0,
    headers: dict[str, str] | None = None,
    ok_statuses: set[int] | None = None,
    timeout: float = 10.0,
    warmup_seconds: float = 0.0,
) -> LoadResult:
    """Drive ``urls`` with ``connections`` concurrent keep-alive connections for ``seconds``."""
    if not urls:
        raise ValueError("no URLs to load")
    ok_statuses = ok_statuses or {200}
    if warmup_seconds:
        run_load(urls=urls, connections=connections, seconds=warmup_seconds, headers=headers, timeout=timeout)
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds
    threads = [
        threading.Thread(
            target=_worker,
            kwargs={
                "urls": urls,
                "offset": number * max(1, len(urls) // connections),
                "deadline": deadline,
                "headers": {"Connection": "keep-alive", **(headers or {})},
                "ok_statuses": ok_statuses,
                "timeout": timeout,
                "latencies": latencies,
                "statuses": statuses,
                "errors": errors,
                "lock": lock,
            },
            daemon=True,
        )
        for number in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        connections=connections,
        seconds=elapsed,
        requests=sum(statuses.values()),
        errors=len(errors),
        rps=len(ordered) / elapsed if elapsed else 0.0,
        p50_ms=statistics.median(ordered) if ordered else 0.0,
        p90_ms=percentile(ordered, 0.90),
        p99_ms=percentile(ordered, 0.99),
        max_ms=ordered[-1] if ordered else 0.0,
        statuses=dict(statuses),
        error_samples=errors[:5],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", help="URLs to request (GET), round-robin")
    parser.add_argument("--urls-file", help="a file with one URL a line")
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("-t", "--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unrecorded load first")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--ok-status", type=int, action="append", help="statuses that are not errors (default 200)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    arguments = parser.parse_args()
    urls = list(arguments.urls)
    if arguments.urls_file:
        with open(arguments.urls_file) as handle:
            urls += [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    headers = dict(header.split(":", 1) for header in arguments.header)
    result = run_load(
        urls=urls,
        connections=arguments.connections,
        seconds=arguments.seconds,
        headers={name.strip(): value.strip() for name, value in headers.items()},
        ok_statuses=set(arguments.ok_status or [200]),
        timeout=arguments.timeout,
        warmup_seconds=arguments.warmup,
    )
    print(json.dumps(asdict(result), indent=2) if arguments.json else result.summary())
    for sample in result.error_samples:
        print(f"  error: {sample}", file=sys.stderr)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
