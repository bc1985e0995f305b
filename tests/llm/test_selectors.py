from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from llm import selectors
from llm.models import LLMCall

pytestmark = pytest.mark.django_db


def log(model: str, *, outcome: str = "success", latency_ms: float = 100, cost: str = "0.001", **fields) -> None:
    LLMCall.objects.create(
        request_id="00000000-0000-0000-0000-000000000002",
        route="vision-tagging",
        provider="default",
        model=model,
        outcome=outcome,
        latency_ms=latency_ms,
        cost_usd=Decimal(cost),
        **fields,
    )


def test_model_health_counts_errors_and_latency_percentiles_per_model():
    for latency in range(1, 21):  # 10 … 200 ms
        log("gemini-2.5-flash", latency_ms=latency * 10, input_tokens=100, output_tokens=10)
    log("gemini-2.5-flash", outcome="timeout", latency_ms=2000, cost="0")
    log("gemini-2.5-flash", outcome="skipped", latency_ms=0, cost="0")

    (row,) = selectors.model_health(since=timezone.now() - timedelta(days=1))

    assert (row["model"], row["calls"], row["errors"]) == ("gemini-2.5-flash", 21, 1)
    assert row["error_rate"] == pytest.approx(1 / 21)
    assert (row["p50_ms"], row["p95_ms"]) == (110, 200)
    assert (row["cost_usd"], row["input_tokens"], row["output_tokens"]) == (Decimal("0.020000"), 2000, 200)


def test_spend_by_day_and_model_sums_cost_per_model():
    log("gemini-2.5-flash", cost="0.25")
    log("gemini-2.5-flash", cost="0.50")
    log("gpt-4.1", cost="1.00")

    rows = selectors.spend_by_day_and_model(since=timezone.now() - timedelta(days=1))

    assert [(row["model"], row["calls"], row["cost_usd"]) for row in rows] == [
        ("gemini-2.5-flash", 2, Decimal("0.750000")),
        ("gpt-4.1", 1, Decimal("1.000000")),
    ]
    assert rows[0]["day"] == timezone.now().date()


def test_spend_excludes_calls_before_since():
    log("gpt-4.1", cost="1.00")
    LLMCall.objects.update(created_at=timezone.now() - timedelta(days=3))

    assert selectors.spend_by_day_and_model(since=timezone.now() - timedelta(days=1)) == []
