"""Print what tagging cost and how well it did over a period, as a table or JSON."""

import json
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from llm import selectors as llm_selectors
from tagging import reports


def build_report(*, days: float) -> dict:
    since = timezone.now() - timedelta(days=days)
    health = llm_selectors.model_health(since=since)
    return {
        "period": {"since": since.isoformat(), "until": timezone.now().isoformat(), "days": days},
        "models": [
            {
                "model": row["model"],
                "calls": row["calls"],
                "errors": row["errors"],
                "error_rate": row["error_rate"],
                "p50_ms": row["p50_ms"],
                "p95_ms": row["p95_ms"],
                "cost_usd": _usd(row["cost_usd"]),
                "input_tokens": row["input_tokens"],
                "output_tokens": row["output_tokens"],
            }
            for row in health
        ],
        "totals": {
            "calls": sum(row["calls"] or 0 for row in health),
            "cost_usd": _usd(sum((Decimal(row["cost_usd"] or 0) for row in health), Decimal(0))),
        },
        "analyses": {
            **(summary := reports.analysis_summary(since=since)),
            "cost_usd": _usd(summary["cost_usd"]),
        },
        "review_backlog": reports.review_backlog(),
        "agreement": reports.agreement_by_model(since=since),
    }


def _usd(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.000001")))


class Command(BaseCommand):
    help = "Spend, calls, latency percentiles, failure reasons, review backlog and agreement per model."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=7, help="The period: the last N days (default 7).")
        parser.add_argument("--format", choices=("table", "json"), default="table")

    def handle(self, *args, **options):
        if options["days"] <= 0:
            raise CommandError("--days must be positive.")
        report = build_report(days=options["days"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        self.write_table(report)

    def write_table(self, report: dict) -> None:
        out = self.stdout.write
        out(f"Tagging report, last {report['period']['days']:g} day(s) since {report['period']['since'][:16]} UTC")
        out(f"Model calls: {report['totals']['calls']}   spend: ${report['totals']['cost_usd']}")
        out("")
        out(
            _table(
                ("model", "calls", "errors", "error %", "p50 ms", "p95 ms", "cost $", "tokens in/out"),
                [
                    (
                        row["model"],
                        row["calls"],
                        row["errors"],
                        f"{100 * (row['error_rate'] or 0):.1f}",
                        _ms(row["p50_ms"]),
                        _ms(row["p95_ms"]),
                        row["cost_usd"],
                        f"{row['input_tokens']}/{row['output_tokens']}",
                    )
                    for row in report["models"]
                ],
            )
        )
        analyses = report["analyses"]
        out("")
        out(
            f"Image analyses: {analyses['analyses']} "
            + _counts(analyses["by_status"])
            + f" (failed, retry to come: {analyses['retrying']})"
        )
        out(f"  by the local analyser (no model call, no spend): {analyses['local']}")
        out(
            "Failure reasons: "
            + (", ".join(f"{r['reason']} ×{r['count']}" for r in analyses["failure_reasons"]) or "none")
        )
        backlog = report["review_backlog"]
        out("")
        out(
            f"Review backlog: {backlog['waiting']} tag(s) on {backlog['images']} image(s); "
            f"oldest {backlog['oldest_age_hours'] if backlog['oldest_age_hours'] is not None else '—'} h; "
            f"open flags {backlog['open_flags']}"
        )
        out("  by facet: " + (_counts(backlog["by_facet"]) or "—"))
        out("")
        out(
            _table(
                ("model", "approved", "rejected", "agreement"),
                [
                    (
                        row["model"],
                        row["approved"],
                        row["rejected"],
                        f"{100 * row['agreement']:.0f}%" if row["agreement"] is not None else "—",
                    )
                    for row in report["agreement"]
                ],
            )
        )


def _ms(value) -> str:
    return f"{value:.0f}" if value is not None else "—"


def _counts(mapping: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in mapping.items())


def _table(headers: tuple, rows: list[tuple]) -> str:
    if not rows:
        return "  ".join(headers) + "\n(no rows)"
    cells = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) for i in range(len(headers))]
    line = lambda row: "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))  # noqa: E731
    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in cells)])
