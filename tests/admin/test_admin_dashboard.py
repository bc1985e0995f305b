from datetime import timedelta

import pytest
from django.utils import timezone

from tagging import reports
from tagging.models import ProductTag
from tests.admin.conftest import make_waiting_image, record_call

pytestmark = pytest.mark.django_db


def test_dashboard_draws_spend_latency_and_agreement_as_inline_svg(staff_client, staff_user, waiting_image):
    record_call(model="gemini-2.5-flash", cost="0.002", latency=700)
    record_call(model="gpt-4.1", cost="0.010", latency=1500, outcome="error")
    response = staff_client.get("/staff/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 5
    assert "gemini-2.5-flash" in page and "gpt-4.1" in page
    assert 'id="kpi-calls">2<' in page
    assert 'id="kpi-backlog"' in page


def test_dashboard_loads_nothing_from_other_hosts(staff_client, waiting_image):
    page = staff_client.get("/staff/dashboard/").content.decode()
    for marker in ('src="http', 'href="http', "src='http", "//cdn"):
        assert marker not in page


def test_dashboard_requires_staff(client, db):
    assert client.get("/staff/dashboard/").status_code == 302


def test_agreement_counts_staff_decisions_per_model(staff_user, db):
    _, _, gemini_tags = make_waiting_image(sku="A", tags=(("colour", "red", 0.5), ("colour", "pink", 0.5)))
    _, _, gpt_tags = make_waiting_image(sku="B", model="gpt-4.1", tags=(("colour", "teal", 0.5),), colour=(1, 90, 90))
    now = timezone.now()
    ProductTag.objects.filter(pk=gemini_tags[0].pk).update(status="applied", reviewed_by=staff_user, reviewed_at=now)
    ProductTag.objects.filter(pk=gemini_tags[1].pk).update(status="rejected", reviewed_by=staff_user, reviewed_at=now)
    ProductTag.objects.filter(pk=gpt_tags[0].pk).update(status="rejected", reviewed_by=staff_user, reviewed_at=now)
    rows = {row["model"]: row for row in reports.agreement_by_model(since=now - timedelta(days=1))}
    assert rows["gemini-2.5-flash"] == {"model": "gemini-2.5-flash", "approved": 1, "rejected": 1, "agreement": 0.5}
    assert rows["gpt-4.1"]["agreement"] == 0.0


def test_review_backlog_counts_waiting_tags_by_facet(waiting_image):
    backlog = reports.review_backlog()
    assert backlog["waiting"] == 3
    assert backlog["by_facet"] == {"colour": 1, "material": 1, "style": 1}
    assert backlog["images"] == 1
