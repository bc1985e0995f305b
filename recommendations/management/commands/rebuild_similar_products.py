import time

from django.core.management.base import BaseCommand

from recommendations.services import rebuild_similar_products


class Command(BaseCommand):
    help = "Recompute every active product's similar-products list from its applied tags (safe to re-run)."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        last_report = [0.0]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last_report[0] > 5 or done == total:
                last_report[0] = time.perf_counter()
                self.stdout.write(f"  {done}/{total} products")

        written = rebuild_similar_products(progress=progress)
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {written} neighbour rows in {time.perf_counter() - started:.1f} s.")
        )
