"""CPU per image of the tagging path (analyze_image → tags stored), without provider latency.

Uploads N images (SQLite file, or PostgreSQL + Redis with --backend postgres, like
bench/throughput.py), then times
tagging.services.analyze_image over them in one process against the loopback model server
answering at once, so what is measured is the project's own work per image: reading the
image, preparing it, the gateway, parsing, vocabulary, tag writes, the queueing that
follows. Prints ms of CPU and of wall time per image, SQL queries per image and the
django-q2 tasks queued per image; ``--profile`` adds the top cProfile entries.

    python bench/tagging_cpu.py --images 300 [--backend postgres] [--profile]
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import (  # noqa: E402 - the path is set just above
    configure_environment,
    distinct_jpegs,
    free_port,
    make_products,
    start_model_server,
    stop,
    upload,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--queries", action="store_true", help="print the SQL statements of one image")
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="shelfsight-bench-cpu-"))
    port = free_port()
    configure_environment(arguments.backend, workdir, f"http://127.0.0.1:{port}/v1")
    os.environ["SHELFSIGHT_LLM_TIMEOUT"] = "10"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_q.brokers import get_broker

    from tagging.models import ImageAnalysis
    from tagging.services import analyze_image
    from tests.reliability.model_answers import tagging_answer

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    server = start_model_server(port=port, answer=tagging_answer({}), workdir=workdir, latency_ms=0, jitter_ms=0)
    try:
        contents = distinct_jpegs(arguments.images + 5, seed=11)
        products = make_products(arguments.images + 5, "CPU")
        upload_cpu = time.process_time()
        images = [upload(product, content) for product, content in zip(products, contents, strict=True)]
        upload_cpu = time.process_time() - upload_cpu
        for image in images[:5]:  # warm imports, connections and the gateway's configuration
            analyze_image(image_id=image.pk)
        timed = images[5:]
        broker = get_broker()
        broker.purge_queue()
        profiler = cProfile.Profile() if arguments.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        queries = []

        def count_query(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count_query):
            if profiler:
                profiler.enable()
            for image in timed:
                analysis = analyze_image(image_id=image.pk)
                assert analysis.status == ImageAnalysis.Status.SUCCEEDED, analysis.error
            if profiler:
                profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        queued = broker.queue_size()
        assert not ImageAnalysis.objects.exclude(status=ImageAnalysis.Status.SUCCEEDED).exists()
    finally:
        stop([server])
    count = len(timed)
    print(
        f"images={count} upload_cpu_ms_per_image={upload_cpu * 1000 / len(images):.1f} "
        f"cpu_ms_per_image={cpu * 1000 / count:.1f} wall_ms_per_image={wall * 1000 / count:.1f} "
        f"queries_per_image={len(queries) / count:.1f} tasks_queued_per_image={queued / count:.2f}"
    )
    if arguments.queries:
        per_image = len(queries) // count
        print("\n".join(sql[:150] for sql in queries[-per_image:]))
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(arguments.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
