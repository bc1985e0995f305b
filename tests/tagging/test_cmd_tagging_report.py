import io
import json

import pytest
from django.core.management import call_command

from tagging.models import ImageAnalysis
from tests.admin.conftest import make_waiting_image, record_call

pytestmark = pytest.mark.django_db


def report(*args) -> str:
    out = io.StringIO()
    call_command("tagging_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def activity(db):
    for latency in (100, 200, 300, 400, 1000):
        record_call(model="gemini-2.5-flash", cost="0.001", latency=latency)
    record_call(model="gpt-4.1", cost="0", latency=5000, outcome="timeout", error_class="APITimeoutError")
    _, image, _ = make_waiting_image(sku="R-1")
    ImageAnalysis.objects.create(
        image=image, status=ImageAnalysis.Status.FAILED, error="bad json", error_class="MalformedModelOutput"
    )


def test_json_report_has_spend_latency_failures_backlog_and_agreement(activity):
    data = json.loads(report("--format", "json", "--days", "1"))
    models = {row["model"]: row for row in data["models"]}
    assert models["gemini-2.5-flash"]["calls"] == 5
    assert models["gemini-2.5-flash"]["cost_usd"] == "0.005000"
    assert models["gemini-2.5-flash"]["p50_ms"] == pytest.approx(300)
    assert models["gpt-4.1"]["error_rate"] == 1.0
    assert data["totals"]["calls"] == 6
    assert data["analyses"]["failure_reasons"] == [{"reason": "MalformedModelOutput", "count": 1}]
    assert data["review_backlog"]["waiting"] == 1
    assert data["agreement"] == []


def test_table_report_lists_each_model(activity):
    output = report()
    assert "gemini-2.5-flash" in output and "gpt-4.1" in output
    assert "Failure reasons: MalformedModelOutput ×1" in output
    assert "Review backlog: 1 tag(s)" in output


def test_report_of_an_empty_period_still_prints(db):
    assert "(no rows)" in report("--days", "1")


def test_an_unusable_answer_counts_as_an_error_of_its_model_and_a_retry_shows(
    product_image, provider_settings, answering
):
    from tagging import services

    answering("Sorry, I can't see the image clearly.")
    services.analyze_image(image_id=product_image.pk)

    data = json.loads(report("--format", "json"))

    gemini = next(row for row in data["models"] if row["model"] == "gemini-2.5-flash")
    assert (gemini["calls"], gemini["errors"], gemini["error_rate"]) == (1, 1, 1.0)
    assert data["analyses"]["retrying"] == 1
    assert "retry to come: 1" in report()
