"""Analyse (or queue) every image that still needs it.

The database is the resume point: an image whose analysis finished is not selected again, so
re-running the same command after Ctrl-C or a crash only does what is left, without paying
twice. Ids are read in chunks so memory stays flat however large the catalog.
"""

import contextlib
import threading
from datetime import datetime, time
from queue import Empty, SimpleQueue

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import close_old_connections, connections, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from catalog.models import Category, ProductImage
from config.queue import default_queue_name
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


class ProgressStream:
    """A command's output as the file tqdm writes to: the text as given, with no line ending or
    colour added (the bar redraws itself in place)."""

    def __init__(self, output: OutputWrapper) -> None:
        self.output = output

    def write(self, text: str) -> None:
        self.output.write(text, style_func=str, ending="")

    def flush(self) -> None:
        self.output.flush()


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
        parser.add_argument(
            "--queue",
            default="",
            help="When queueing: the django-q2 queue for the run's tasks, e.g. backfill, served by a cluster "
            "started with Q_CLUSTER_NAME set to it, so uploads keep theirs (default: the uploads' queue).",
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
            file=ProgressStream(self.stderr),
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
                    bound = WaitingBound(
                        options["max_waiting"], on_stalled=self._stalled_warning(progress, options["queue"])
                    )
                chunks = iterate_id_chunks(queryset, limit=options["limit"])
                done = self._enqueue(chunks, workflow, force, bound, progress, options["queue"])
                verb = "queued"
        except KeyboardInterrupt:
            progress.close()
            self.stdout.write(self.style.WARNING(f"Interrupted after {progress.n} image(s); re-run to resume."))
            raise SystemExit(130) from None
        progress.close()
        self.stdout.write(self.style.SUCCESS(f"{verb} {done} image(s) (estimate was ${estimate})."))

    def _enqueue(self, chunks, workflow, force, bound: WaitingBound | None, progress, queue: str) -> int:
        """Record each chunk's queued analyses and hand them to the workers a batch per task;
        images already pending are skipped. See tagging.backfill."""
        count, size = 0, queueing.batch_size()
        for chunk in chunks:
            with transaction.atomic():
                queued = queueing.enqueue_analyses(image_ids=chunk, workflow=workflow, force=force, queue=queue)
            for start in range(0, len(queued), size):
                group = queued[start : start + size]
                if bound is not None:
                    group = bound.room_for(group)
                if group:
                    queueing.dispatch(group)
                    count += len(group)
            progress.update(len(chunk))
        return count

    def _stalled_warning(self, progress, own_queue: str):
        """What the waiting bound calls when no worker takes the backfill's tasks: a warning that
        names the queue and the command that serves it."""
        queue = own_queue or default_queue_name()
        serve = f"Q_CLUSTER_NAME={own_queue} python manage.py qcluster" if own_queue else "python manage.py qcluster"

        def warn(seconds: float) -> None:
            progress.write(
                self.style.WARNING(
                    f"No worker has taken any of this backfill's tasks for {seconds:.0f} s. Is a cluster "
                    f"serving queue '{queue}'? Start one with: {serve}. Still waiting; Ctrl-C and a re-run resume."
                ),
                file=ProgressStream(self.stderr),
            )

        return warn

    def _run_in_process(self, queryset, limit, concurrency, workflow, force, progress) -> int:
        """At most ``concurrency`` analyses at once; on Ctrl-C, running ones finish and no new ones start.

        A chunk is read, analysed and awaited before the next is read, so the selection query
        never runs while workers write (SQLite readers and writers would otherwise contend).
        """
        to_analyse: SimpleQueue = SimpleQueue()
        outcomes: SimpleQueue = SimpleQueue()

        def analyse_until_stopped() -> None:
            # The thread keeps its database connection from image to image (a new PostgreSQL
            # connection per image cost more CPU than the analysis), drops it like a worker when
            # it went bad or past CONN_MAX_AGE, and closes it itself when it stops: a connection
            # belongs to the thread that opened it.
            try:
                while (image_id := to_analyse.get()) is not None:
                    close_old_connections()
                    try:
                        services.analyze_image(image_id=image_id, workflow=workflow, force=force)
                    except Exception as error:  # the main thread reports it
                        outcomes.put(error)
                    else:
                        outcomes.put(None)
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=analyse_until_stopped, name=f"backfill-{number}") for number in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        count = 0
        try:
            for chunk in iterate_id_chunks(queryset, limit=limit, chunk_size=max(CHUNK_SIZE, concurrency)):
                for image_id in chunk:
                    to_analyse.put(image_id)
                for _ in chunk:
                    self._collect(outcomes.get(), progress)
                    count += 1
        finally:
            # Ctrl-C (or an error here): no analysis starts any more; each thread finishes the one
            # it is running, closes its connection and ends.
            with contextlib.suppress(Empty):
                while True:
                    to_analyse.get_nowait()
            for _ in threads:
                to_analyse.put(None)
            for thread in threads:
                thread.join()
        return count

    def _collect(self, error: Exception | None, progress) -> None:
        if error is not None:
            # analyze_image records model failures on the analysis; anything else is a bug to see.
            self.stderr.write(f"analysis crashed: {type(error).__name__}: {error}")
        progress.update(1)

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
