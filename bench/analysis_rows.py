"""Writing a batch's analysis rows: one save() each, Django's bulk_update, and the one
UPDATE … FROM a list of values that tagging.batches.save_analyses makes.

Rows are filled as a model answer fills them (status, result, quality report, tokens, cost,
the raw answer), then written by each way in turn, alternating over rounds so a noisy machine
hits all three. Prints the median CPU of this process per batch and per row.

    .venv/bin/python bench/analysis_rows.py [--backend sqlite|postgres] [--batch 16] [--rounds 5]
"""

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import configure_environment  # noqa: E402 - the path is set just above

WRITES_PER_ROUND = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    configure_environment(
        options.backend, Path(tempfile.mkdtemp(prefix="shelfsight-bench-rows-")), "http://127.0.0.1:9/v1"
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from catalog.services import add_product_image
    from tagging.batches import save_analyses
    from tagging.models import ImageAnalysis
    from tests.factories import ProductFactory, image_upload
    from tests.reliability.model_answers import tagging_answer

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    images = [
        add_product_image(product=ProductFactory(), upload=image_upload(colour=(index * 9 % 256, 20, 30)))
        for index in range(options.batch)
    ]
    rows = [ImageAnalysis.objects.create(image=image, status="running") for image in images]
    answer = tagging_answer({})
    fields = [field.name for field in ImageAnalysis._meta.concrete_fields if not field.primary_key]

    def fill() -> None:
        for row in rows:
            row.status, row.finished_at, row.result = "succeeded", timezone.now(), {"answer": answer}
            row.quality_score, row.quality_report = 7.4, {"score": 7.4, "sharpness": 210.3, "reasons": []}
            row.analyser, row.provider, row.model, row.arm = "provider", "loopback", "gemini-2.5-flash", "primary"
            row.llm_request_id, row.prompt_version, row.raw_response = "9f" * 16, "v7", answer
            row.input_tokens, row.output_tokens, row.cost_usd, row.latency_ms = 1180, 96, Decimal("0.000412"), 181.5

    def one_save_each() -> None:
        with transaction.atomic():
            for row in rows:
                row.save()

    def bulk_update() -> None:
        with transaction.atomic():
            ImageAnalysis.objects.bulk_update(rows, fields)

    def update_from_values() -> None:
        with transaction.atomic():
            save_analyses(rows)

    ways = {
        "save() each (baseline)": one_save_each,
        "bulk_update": bulk_update,
        "UPDATE … FROM VALUES": update_from_values,
    }
    fill()
    for write in ways.values():
        write()
    per_batch: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(options.rounds):
        for name, write in ways.items():
            started = time.process_time()
            for _ in range(WRITES_PER_ROUND):
                write()
            per_batch[name].append((time.process_time() - started) * 1000 / WRITES_PER_ROUND)
    baseline = statistics.median(per_batch["save() each (baseline)"])
    print(f"{options.backend}: batches of {options.batch} rows, {options.rounds} rounds × {WRITES_PER_ROUND}")
    for name, values in per_batch.items():
        median = statistics.median(values)
        print(
            f"{name:24} median {median:7.2f} ms CPU per batch, {median / options.batch:.3f} per row, "
            f"{median / baseline:.2f}× the baseline"
        )


if __name__ == "__main__":
    main()
