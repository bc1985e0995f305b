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
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        # Production settings: with DEBUG on, every query is formatted and kept for the debug page.
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SHELFSIGHT_VAR_DIR": str(workdir),
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": "sk-bench-not-a-real-key",
        "SHELFSIGHT_LLM_TIMEOUT": "10",
        # Outcomes live on ImageAnalysis; keeping only failed tasks spares django-q2 a prune per task.
        "BENCH_TASK_SAVE_LIMIT": "-1",
    }
    if backend == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"
        env["REDIS_URL"] = REDIS_BENCH_URL
        env["BENCH_CACHE_PREFIX"] = "bench"
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


def start_clusters(
    count: int, workers: int, env: dict[str, str], workdir: Path, *, queue: str = "", niceness: int = 0
) -> list[subprocess.Popen]:
    """``count`` qcluster processes of ``workers`` each, serving ``queue`` (blank: the default one)."""
    processes = []
    for index in range(count):
        log = open(workdir / f"qcluster-{queue or 'default'}-{index}.log", "w")  # noqa: SIM115 - lives as long as the process
        queue_env = {"Q_CLUSTER_NAME": queue} if queue else {}
        processes.append(
            subprocess.Popen(
                [*(["nice", "-n", str(niceness)] if niceness else []), sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env={**os.environ, **env, **queue_env, "SHELFSIGHT_WORKERS": str(workers)},
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

        # Reads the tag rows added since the last look, and a window behind for those of a
        # transaction that committed after a later one; every 2 s, the pending images by id, in
        # case a row fell out of that window. (Every pending image by id 20 times a second cost
        # the machine about a millisecond per image.)
        newest, polls = 0, 0
        try:
            while not self.done.is_set():
                polls += 1
                rows = list(
                    # A closed range: without statistics (autovacuum off) an open one is planned as a
                    # scan of the whole table, 20 times a second, on the machine being measured.
                    ProductTag.objects.filter(pk__range=(max(0, newest - self.WINDOW) + 1, newest + 10**9))
                    .order_by()
                    .values_list("pk", "image_id")
                )
                if polls % 40 == 0:
                    with self.lock:
                        pending = list(self.pending)
                    for start in range(0, len(pending), 500):
                        rows += ProductTag.objects.filter(image_id__in=pending[start : start + 500]).values_list(
                            "pk", "image_id"
                        )
                now = time.time()
                if rows:
                    newest = max(newest, max(pk for pk, _ in rows))
                with self.lock:
                    for _, image_id in rows:
                        if image_id in self.pending:
                            self.visible.setdefault(image_id, now)
                            self.pending.discard(image_id)
                time.sleep(self.interval)
        finally:
            connection.close()

    WINDOW = 300  # tag rows: about 30 images


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


def store_images(contents: list[bytes], prefix: str) -> list[int]:
    """Images already in the catalog, as a store that predates tagging has them: files saved and
    rows bulk-created, so no upload signal queues them. Returns their ids."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from catalog.models import ProductImage

    products = make_products(len(contents), prefix)
    rows = []
    for index, (product, content) in enumerate(zip(products, contents, strict=True)):
        name = default_storage.save(f"products/{prefix.lower()}-{index:06d}.jpg", ContentFile(content))
        rows.append(
            ProductImage(
                product=product,
                image=name,
                sha256=hashlib.sha256(content).hexdigest(),
                width=640,
                height=480,
                format="JPEG",
                file_size=len(content),
                position=0,
            )
        )
    return [image.pk for image in ProductImage.objects.bulk_create(rows, batch_size=500)]


def run_backfill(
    count: int,
    contents: list[bytes],
    live_contents: list[bytes],
    *,
    live_rate: float,
    timeout: float,
    accounts: dict[str, list[int]],
) -> dict:
    """``manage.py backfill_tags`` (queueing to the backfill cluster) over ``count`` stored images while
    this process uploads ``live_rate`` images a second, as shoppers' shops keep doing."""
    import resource

    from tagging.models import ImageAnalysis

    image_ids = store_images(contents, "BACK")
    live_products = make_products(len(live_contents), "LIVE") if live_rate else []
    poller = TagPoller()
    for image_id in image_ids:
        poller.watch(image_id)
    poller.start()

    def cpu_now() -> dict[str, float]:
        return {name: cpu_seconds(pids, descendants=name != "poller_and_uploads") for name, pids in accounts.items()}

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_before, machine_before, children_before = cpu_now(), machine_busy_seconds(), children_cpu()
    first = time.time()
    backfill = subprocess.Popen(
        [sys.executable, "manage.py", "backfill_tags", "--queue", "backfill", "--no-progress"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )
    backfill_ids = set(image_ids)

    def all_visible(ids) -> bool:
        with poller.lock:
            return all(image_id in poller.visible for image_id in ids)

    uploaded_at: dict[int, float] = {}
    deadline = first + timeout
    for index, (product, content) in enumerate(zip(live_products, live_contents, strict=True)):
        time.sleep(max(0.0, first + (index + 1) / live_rate - time.time()))
        if time.time() > deadline or all_visible(backfill_ids):
            break
        begin = time.time()
        image = upload(product, content)
        uploaded_at[image.pk] = begin
        poller.watch(image.pk)
    checked = time.time()
    while not all_visible([*backfill_ids, *uploaded_at]) and time.time() < deadline:
        time.sleep(0.05)
        if time.time() - checked > 1:  # a failed analysis shows no tags: stop once none is pending
            checked = time.time()
            pending = ImageAnalysis.Status.QUEUED, ImageAnalysis.Status.RUNNING
            if not ImageAnalysis.objects.filter(status__in=pending).exists():
                break
    backfill.wait(timeout=max(1.0, deadline - time.time()))
    poller.done.set()
    poller.join()
    cpu_ms_per_image = {name: round((spent - cpu_before[name]) * 1000 / count, 2) for name, spent in cpu_now().items()}
    cpu_ms_per_image["backfill_command"] = round((children_cpu() - children_before) * 1000 / count, 2)
    cpu_ms_per_image["whole_machine"] = round((machine_busy_seconds() - machine_before) * 1000 / count, 2)
    tagged = {image_id: moment for image_id, moment in poller.visible.items() if image_id in backfill_ids}
    last = max(tagged.values()) if tagged else time.time()
    live = sorted((poller.visible[pk] - uploaded_at[pk]) * 1000 for pk in uploaded_at if pk in poller.visible)
    return {
        "images": count,
        "tagged": len(tagged),
        "seconds": last - first,
        "images_per_s": len(tagged) / (last - first),
        "failed": ImageAnalysis.objects.filter(image_id__in=backfill_ids, status="failed").count(),
        "live_uploads": len(uploaded_at),
        "live_tagged": len(live),
        "live_p50_ms": statistics.median(live) if live else None,
        "live_p95_ms": live[int(len(live) * 0.95) - 1] if live else None,
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
    parser.add_argument(
        "--mode",
        choices=["uploads", "backfill"],
        default="uploads",
        help="uploads: each image uploaded and queued on its own; backfill: stored images queued by backfill_tags",
    )
    parser.add_argument("--live-rate", type=float, default=5.0, help="backfill mode: uploads a second meanwhile")
    parser.add_argument("--backfill-workers", type=int, default=4, help="backfill mode: workers of its own cluster")
    parser.add_argument("--backfill-niceness", type=int, default=10, help="backfill mode: its cluster's nice value")
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
        if arguments.mode == "backfill":
            # Its own queue and cluster, under nice: the uploads made meanwhile keep the CPU they need.
            clusters += start_clusters(
                1, arguments.backfill_workers, env, workdir, queue="backfill", niceness=arguments.backfill_niceness
            )
        time.sleep(4)  # let every worker process import Django before the clock starts
        accounts = {"workers": [cluster.pid for cluster in clusters], "model_server": [server.pid]}
        if arguments.mode == "backfill":
            accounts["poller_and_uploads"] = [os.getpid()]
            live = distinct_jpegs(int(arguments.live_rate * arguments.timeout) + 1, seed=8)
            real = run_backfill(
                arguments.images,
                contents[arguments.baseline_images :],
                live,
                live_rate=arguments.live_rate,
                timeout=arguments.timeout,
                accounts=accounts,
            )
        else:
            accounts["uploader_and_poller"] = [os.getpid()]
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
    summary = {"backend": arguments.backend, "mode": arguments.mode, "baseline": baseline, "real_path": real}
    print(json.dumps({**summary, "ratio": ratio}, indent=2))
    if arguments.mode == "backfill":
        latency = f"{real['live_tagged']}/{real['live_uploads']} uploads meanwhile: {real['live_p50_ms'] or 0:.0f}"
        tail = f"{real['live_p95_ms'] or 0:.0f}"
    else:
        latency, tail = f"{real['p50_ms']:.0f}", f"{real['p95_ms']:.0f}"
    print(
        f"| {arguments.backend} {arguments.mode} | {arguments.clusters}×{arguments.workers} "
        f"| {real['tagged']}/{real['images']} | {real['images_per_s']:.1f} | {baseline['images_per_s']:.2f} "
        f"| {ratio:.1f}× | {latency} | {tail} |"
    )


if __name__ == "__main__":
    main()
