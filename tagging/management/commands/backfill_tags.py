"""Analyse (or queue) every image that still needs it.

The database is the resume point: an image whose analysis finished is not selected again, so
re-running the same command after Ctrl-C or a crash only does what is left, without paying
twice. Ids are read in chunks so memory stays flat however large the catalog.
"""

import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_q.conf import Conf
from tqdm import tqdm

from catalog.models import Category, ProductImage
from tagging import queueing, services
from tagging.backfill import DEFAULT_MAX_WAITING, WaitingBound
from tagging.models import ImageAnalysis

CHUNK_SIZE = 500


def images_to_backfill(
    *, mode: str, workflow: str, category: Category | None = None, since: datetime | None = None, fresh_since=None
):
    """The ProductImage queryset a backfill works through (unordered, unevaluated)."""
    images = ProductImage.objects.all()
    if category is not None:
        images = images.filter(
            Q(product__category=category) | Q(product__category__path__startswith=f"{category.path}/")
        )
    if since is not None:
        images = images.filter(created_at__gte=since)
    analyses = ImageAnalysis.objects.filter(image=OuterRef("pk"), workflow=workflow)
    if mode == "missing":
        return images.exclude(Exists(analyses.succeeded())).exclude(Exists(analyses.failed()))
    if mode == "failed":
        # Whose latest analysis failed, whatever came before it (an image tagged once, then
        # re-tagged without success, is one of them).
        latest = analyses.order_by("-created_at", "-id").values("status")[:1]
        return images.annotate(latest_status=Subquery(latest)).filter(latest_status=ImageAnalysis.Status.FAILED)
    # "all": every image, except those that already have a finished analysis from this run
    # (started at or after fresh_since) — that is what makes a forced run resumable.
    finished_this_run = Exists(
        analyses.filter(
            status__in=(ImageAnalysis.Status.SUCCEEDED, ImageAnalysis.Status.FAILED), created_at__gte=fresh_since
        )
    )
    return images.exclude(finished_this_run)


def iterate_id_chunks(queryset, *, limit: int | None = None, chunk_size: int = CHUNK_SIZE):
    """Yield lists of ids in ascending order (keyset pagination, no OFFSET), at most ``limit`` in all."""
    last_id, yielded = 0, 0
    while True:
        size = chunk_size if limit is None else min(chunk_size, limit - yielded)
        if size <= 0:
            return
        ids = list(queryset.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        yielded += len(ids)
        last_id = ids[-1]


def iterate_ids(queryset, *, limit: int | None = None, chunk_size: int = CHUNK_SIZE):
    for chunk in iterate_id_chunks(queryset, limit=limit, chunk_size=chunk_size):
        yield from chunk


class Command(BaseCommand):
    help = "Analyse or queue images without a finished analysis. Safe to interrupt and re-run."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--only-missing", dest="mode", action="store_const", const="missing", help="(default)")
        mode.add_argument("--only-failed", dest="mode", action="store_const", const="failed")
        mode.add_argument("--all", dest="mode", action="store_const", const="all", help="Re-analyse every image.")
        parser.set_defaults(mode="missing")
        parser.add_argument("--category", help="Category path (e.g. clothing/shirts); its subcategories too.")
        parser.add_argument("--since", help="Only images created on or after this date / datetime (ISO 8601).")
        parser.add_argument(
            "--fresh-since",
            help="With --all: analyses finished after this moment count as done (printed by a run, to resume it).",
        )
        parser.add_argument("--workflow", default=ImageAnalysis.Workflow.FULL, choices=ImageAnalysis.Workflow.values)
        parser.add_argument("--route", default="vision-tagging", help="Route whose prices the estimate uses.")
        parser.add_argument("--limit", type=int, help="At most this many images.")
        parser.add_argument("--dry-run", action="store_true", help="Print the count and estimated cost only.")
        parser.add_argument(
            "--concurrency", type=int, default=0, help="Analyse in-process with N threads (default: queue to workers)."
        )
        parser.add_argument(
            "--max-waiting",
            type=int,
            default=DEFAULT_MAX_WAITING,
            help="When queueing: hold back while this many of the run's images wait for a worker, so uploads "
            f"queued meanwhile are not stuck behind the whole backfill (default {DEFAULT_MAX_WAITING}; 0: no bound).",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        category = self._category(options["category"])
        since = self._moment(options["since"], "--since")
        fresh_since = self._moment(options["fresh_since"], "--fresh-since") or timezone.now()
        mode, workflow = options["mode"], options["workflow"]
        queryset = images_to_backfill(
            mode=mode, workflow=workflow, category=category, since=since, fresh_since=fresh_since
        )
        total = queryset.count()
        if options["limit"] is not None:
            total = min(total, max(options["limit"], 0))

        estimate = services.estimate_analysis_cost(image_count=total, route=options["route"])
        if options["dry_run"]:
            self.stdout.write(
                f"{total} image(s) to analyse ({mode}, {workflow} workflow); "
                f"estimated cost ${estimate} at the {options['route']} route's current prices."
            )
            return
        if mode == "all":
            self.stdout.write(f"To resume this run, repeat it with --fresh-since {fresh_since.isoformat()}")
        force = mode != "missing"
        progress = tqdm(
            total=total,
            unit="img",
            disable=options["no_progress"],
            file=self.stderr._out,
            dynamic_ncols=True,
            desc="analysing" if options["concurrency"] else "queueing",
        )
        try:
            if options["concurrency"] > 0:
                done = self._run_in_process(
                    queryset, options["limit"], options["concurrency"], workflow, force, progress
                )
                verb = "analysed"
            else:
                bound = None
                if options["max_waiting"] > 0:
                    bound = WaitingBound(options["max_waiting"], on_stalled=self._stalled_warning(progress))
                done = self._enqueue(
                    iterate_id_chunks(queryset, limit=options["limit"]), workflow, force, bound, progress
                )
                verb = "queued"
        except KeyboardInterrupt:
            progress.close()
            self.stdout.write(self.style.WARNING(f"Interrupted after {progress.n} image(s); re-run to resume."))
            raise SystemExit(130) from None
        progress.close()
        self.stdout.write(self.style.SUCCESS(f"{verb} {done} image(s) (estimate was ${estimate})."))

    def _enqueue(self, chunks, workflow, force, bound: WaitingBound | None, progress) -> int:
        """Record each chunk's queued analyses and hand them to the workers a batch per task;
        images already pending are skipped. See tagging.backfill."""
        count, size = 0, queueing.batch_size()
        for chunk in chunks:
            with transaction.atomic():
                queued = queueing.enqueue_analyses(
                    image_ids=chunk, workflow=workflow, force=force, queue=settings.SHELFSIGHT_BACKFILL_QUEUE
                )
            for start in range(0, len(queued), size):
                group = queued[start : start + size]
                if bound is not None:
                    group = bound.room_for(group)
                if group:
                    queueing.dispatch(group)
                    count += len(group)
            progress.update(len(chunk))
        return count

    def _stalled_warning(self, progress):
        """What the waiting bound calls when no worker takes the backfill's tasks: a warning that
        names the queue and the command that serves it."""
        own_queue = settings.SHELFSIGHT_BACKFILL_QUEUE
        queue = own_queue or Conf.CLUSTER_NAME
        serve = f"Q_CLUSTER_NAME={own_queue} python manage.py qcluster" if own_queue else "python manage.py qcluster"

        def warn(seconds: float) -> None:
            progress.write(
                self.style.WARNING(
                    f"No worker has taken any of this backfill's tasks for {seconds:.0f} s. Is a cluster "
                    f"serving queue '{queue}'? Start one with: {serve}. Still waiting; Ctrl-C and a re-run resume."
                ),
                file=self.stderr._out,
            )

        return warn

    def _run_in_process(self, queryset, limit, concurrency, workflow, force, progress) -> int:
        """At most ``concurrency`` analyses at once; on Ctrl-C, running ones finish and no new ones start.

        A chunk is read, analysed and awaited before the next is read, so the selection query
        never runs while workers write (SQLite readers and writers would otherwise contend).
        """
        # Each pool thread has its own database connection. It is kept from image to image (a
        # new PostgreSQL connection per image cost more CPU than the analysis), dropped like a
        # worker's when it went bad or past CONN_MAX_AGE, and closed once the pool has finished.
        opened: dict[int, BaseDatabaseWrapper] = {}

        def analyse(image_id: int) -> None:
            close_old_connections()
            opened.setdefault(threading.get_ident(), connections[DEFAULT_DB_ALIAS])
            services.analyze_image(image_id=image_id, workflow=workflow, force=force)

        count = 0
        pending: list = []
        try:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="backfill") as executor:
                try:
                    for chunk in iterate_id_chunks(queryset, limit=limit, chunk_size=max(CHUNK_SIZE, concurrency)):
                        pending = [executor.submit(analyse, image_id) for image_id in chunk]
                        while pending:
                            finished, still = wait(pending, return_when=FIRST_COMPLETED)
                            pending = list(still)
                            count += self._collect(finished, progress)
                except KeyboardInterrupt:
                    for future in pending:
                        future.cancel()
                    raise
        finally:
            for thread_connection in opened.values():
                thread_connection.inc_thread_sharing()  # its thread has ended; close it from here
                thread_connection.close()
        return count

    def _collect(self, finished, progress) -> int:
        for future in finished:
            error = future.exception()
            if error is not None:
                # analyze_image records model failures on the analysis; anything else is a bug to see.
                self.stderr.write(f"analysis crashed: {type(error).__name__}: {error}")
        progress.update(len(finished))
        return len(finished)

    def _category(self, value: str | None) -> Category | None:
        if not value:
            return None
        path = "/".join(part.strip() for part in value.replace(">", "/").split("/") if part.strip()).lower()
        category = Category.objects.filter(Q(path=path) | Q(slug=path)).order_by("path").first()
        if category is None:
            raise CommandError(f"No category {value!r}.")
        return category

    def _moment(self, value: str | None, option: str) -> datetime | None:
        if not value:
            return None
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise CommandError(f"{option} must be an ISO date or datetime, not {value!r}.")
            moment = datetime.combine(day, time.min)
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
