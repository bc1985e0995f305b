"""Tagging throughput through the real path, against a baseline measured in the same run.

Real path: each image is saved with catalog.services.add_product_image in its own
transaction, the upload signal queues one django-q2 task after commit, qcluster worker
processes analyse it against the loopback model server (180 ms ± 40 ms, like the providers
of the seed case studies) and store the tags. A poller in this process notes when each
image's tags become visible to a reader.

Baseline: the one-image-at-a-time loop of the case studies (prepare, call, save, next),
i.e. tagging.services.analyze_image called in a loop, in this process.

    python bench/throughput.py --backend sqlite            # SQLite file + ORM broker
    python bench/throughput.py --backend postgres          # PostgreSQL + Redis broker
Options: --images N (2000), --clusters C --workers W (qcluster processes × workers each),
--baseline-images B (40), --rate R (uploads per second; 0 = as fast as they go).
"""

import argparse
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "shelfsight_bench"
REDIS_BENCH_URL = "redis://127.0.0.1:6379/13"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure_environment(backend: str, workdir: Path, model_url: str) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Production settings: with DEBUG on, every query is formatted and kept for the debug page.
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SHELFSIGHT_VAR_DIR": str(workdir),
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": "sk-bench-not-a-real-key",
        "SHELFSIGHT_LLM_MAX_RETRIES": "0",
        "SHELFSIGHT_LLM_TIMEOUT": "10",
        "SHELFSIGHT_SQLITE_CONN_MAX_AGE": "600",
        # Outcomes live on ImageAnalysis; keeping only failed tasks spares django-q2 a prune per task.
        "SHELFSIGHT_TASK_SAVE_LIMIT": "-1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    if backend == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"
        env["REDIS_URL"] = REDIS_BENCH_URL
        env["SHELFSIGHT_CACHE_PREFIX"] = "bench"
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
    os.environ.update(env)
    return env


def start_model_server(*, port: int, answer: str, workdir: Path, latency_ms: float, jitter_ms: float):
    answer_file = workdir / "answer.json"
    answer_file.write_text(answer)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.openai_server",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--jitter-ms",
            str(jitter_ms),
            "--answer-file",
            str(answer_file),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(1.0)
    return process


def start_clusters(count: int, workers: int, env: dict[str, str], workdir: Path) -> list[subprocess.Popen]:
    processes = []
    for index in range(count):
        log = open(workdir / f"qcluster-{index}.log", "w")  # noqa: SIM115 - lives as long as the process
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env={**os.environ, **env, "SHELFSIGHT_WORKERS": str(workers)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return processes


def stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def distinct_jpegs(count: int, *, size=(640, 480), seed: int) -> list[bytes]:
    """Photo-like JPEGs (gradient + noise), each with different bytes (no reuse by hash)."""
    from PIL import Image

    rng = random.Random(seed)
    base = Image.merge(
        "RGB", [Image.linear_gradient("L").resize(size), Image.effect_noise(size, 30), Image.new("L", size, 120)]
    )
    images = []
    for index in range(count):
        variant = base.copy()
        variant.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (0, 0, 64 + index % 64, 64))
        buffer = io.BytesIO()
        variant.save(buffer, format="JPEG", quality=85)
        images.append(buffer.getvalue())
    return images


def make_products(count: int, prefix: str):
    from catalog.models import Product

    Product.objects.bulk_create(
        [
            Product(sku=f"{prefix}-{index:06d}", title=f"Bench {index}", price=10, status="active")
            for index in range(count)
        ],
        batch_size=1000,
    )
    return list(Product.objects.filter(sku__startswith=f"{prefix}-").order_by("sku"))


def upload(product, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from catalog.services import add_product_image

    with transaction.atomic():
        return add_product_image(product=product, upload=SimpleUploadedFile("p.jpg", content, "image/jpeg"))


def run_baseline(count: int, contents: list[bytes]) -> dict:
    """One image at a time: upload, then analyse it in this process (prepare, call, save), next."""
    from django_q.brokers import get_broker

    from tagging.models import ImageAnalysis
    from tagging.services import analyze_image

    products = make_products(count, "BASE")
    broker = get_broker()
    started = time.perf_counter()
    latencies = []
    for product, content in zip(products, contents, strict=True):
        begin = time.perf_counter()
        image = upload(product, content)
        analysis = analyze_image(image_id=image.pk)
        assert analysis.status == ImageAnalysis.Status.SUCCEEDED, analysis.error
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    broker.purge_queue()  # the upload signal queued these too; the loop already did the work
    return {
        "images": count,
        "seconds": elapsed,
        "images_per_s": count / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
    }


class TagPoller(threading.Thread):
    """Notes the first moment each image's tags are visible to a reader of the database."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval = interval
        self.visible: dict[int, float] = {}
        self.pending: set[int] = set()
        self.lock = threading.Lock()
        self.done = threading.Event()

    def watch(self, image_id: int) -> None:
        with self.lock:
            self.pending.add(image_id)

    def run(self) -> None:
        from django.db import connection

        from tagging.models import ProductTag

        try:
            while not self.done.is_set():
                with self.lock:
                    pending = list(self.pending)
                if pending:
                    seen = set()
                    for start in range(0, len(pending), 500):
                        seen.update(
                            ProductTag.objects.filter(image_id__in=pending[start : start + 500])
                            .values_list("image_id", flat=True)
                            .distinct()
                        )
                    now = time.time()
                    with self.lock:
                        for image_id in seen:
                            self.visible.setdefault(image_id, now)
                        self.pending -= seen
                time.sleep(self.interval)
        finally:
            connection.close()


def cpu_seconds(roots: list[int], *, descendants: bool = True) -> float:
    """User + system CPU of ``roots`` (and their live descendants)."""
    import psutil

    total = 0.0
    for root in roots:
        try:
            process = psutil.Process(root)
            family = [process, *(process.children(recursive=True) if descendants else [])]
        except psutil.NoSuchProcess:
            continue
        for member in family:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def machine_busy_seconds() -> float:
    import psutil

    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def run_real_path(
    count: int, contents: list[bytes], *, rate: float, timeout: float, accounts: dict[str, list[int]]
) -> dict:
    from tagging.models import ImageAnalysis

    products = make_products(count, "REAL")
    poller = TagPoller()
    poller.start()

    def cpu_now() -> dict[str, float]:
        # This process is the uploader and poller only; the others count their children too.
        return {name: cpu_seconds(pids, descendants=name != "uploader_and_poller") for name, pids in accounts.items()}

    cpu_before = cpu_now()
    machine_before = machine_busy_seconds()
    uploaded_at: dict[int, float] = {}
    first = time.time()
    for index, (product, content) in enumerate(zip(products, contents, strict=True)):
        if rate:
            delay = first + index / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        begin = time.time()
        image = upload(product, content)
        uploaded_at[image.pk] = begin
        poller.watch(image.pk)
    uploads_done = time.time()
    deadline = time.time() + timeout
    while len(poller.visible) < count and time.time() < deadline:
        time.sleep(0.05)
    poller.done.set()
    poller.join()
    cpu_ms_per_image = {name: round((spent - cpu_before[name]) * 1000 / count, 2) for name, spent in cpu_now().items()}
    # Everything on the machine, PostgreSQL and Redis included (and anything else running).
    cpu_ms_per_image["whole_machine"] = round((machine_busy_seconds() - machine_before) * 1000 / count, 2)
    last = max(poller.visible.values()) if poller.visible else time.time()
    latencies = sorted((poller.visible[pk] - uploaded_at[pk]) * 1000 for pk in poller.visible)
    failed = ImageAnalysis.objects.filter(image_id__in=uploaded_at, status="failed").count()
    return {
        "images": count,
        "tagged": len(poller.visible),
        "failed": failed,
        "upload_seconds": uploads_done - first,
        "seconds": last - first,
        "images_per_s": len(poller.visible) / (last - first),
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] if latencies else None,
        # CPU spent per image by each part while the run lasted (the wall clock is noisy, this less so).
        "cpu_ms_per_image": cpu_ms_per_image,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--baseline-images", type=int, default=40)
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=180)
    parser.add_argument("--jitter-ms", type=float, default=40)
    parser.add_argument("--timeout", type=float, default=300)
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix=f"shelfsight-bench-{arguments.backend}-"))
    port = free_port()
    env = configure_environment(arguments.backend, workdir, f"http://127.0.0.1:{port}/v1")
    import django

    django.setup()
    from django.core.management import call_command

    from tests.reliability.model_answers import tagging_answer

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from django_q.models import Schedule

    Schedule.objects.all().delete()  # the sweep schedule would only add noise to a timed run
    server = start_model_server(
        port=port,
        answer=tagging_answer({}),
        workdir=workdir,
        latency_ms=arguments.latency_ms,
        jitter_ms=arguments.jitter_ms,
    )
    clusters: list[subprocess.Popen] = []
    try:
        contents = distinct_jpegs(arguments.baseline_images + arguments.images, seed=7)
        baseline = run_baseline(arguments.baseline_images, contents[: arguments.baseline_images])
        clusters = start_clusters(arguments.clusters, arguments.workers, env, workdir)
        time.sleep(4)  # let every worker process import Django before the clock starts
        accounts = {
            "workers": [cluster.pid for cluster in clusters],
            "model_server": [server.pid],
            "uploader_and_poller": [os.getpid()],
        }
        real = run_real_path(
            arguments.images,
            contents[arguments.baseline_images :],
            rate=arguments.rate,
            timeout=arguments.timeout,
            accounts=accounts,
        )
    finally:
        stop(clusters)
        stop([server])
    ratio = real["images_per_s"] / baseline["images_per_s"]
    print(json.dumps({"backend": arguments.backend, "baseline": baseline, "real_path": real, "ratio": ratio}, indent=2))
    print(
        f"| {arguments.backend} | {arguments.clusters}×{arguments.workers} | {real['tagged']}/{real['images']} "
        f"| {real['images_per_s']:.1f} | {baseline['images_per_s']:.2f} | {ratio:.1f}× "
        f"| {real['p50_ms']:.0f} | {real['p95_ms']:.0f} |"
    )


if __name__ == "__main__":
    main()
