"""With no provider key, staff pages say plainly that the local analyser is tagging, and count its work."""

import io
import json

import pytest
from django.core.management import call_command

from tagging.models import Flag, ImageAnalysis
from tests.admin.conftest import make_waiting_image

pytestmark = pytest.mark.django_db

NOTICE = 'id="analyser-notice"'
GATEWAY_PAGES = (
    "/admin/llm/provider/",
    "/admin/llm/modeldeployment/",
    "/admin/llm/route/",
    "/admin/llm/llmcall/",
    "/admin/llm/llmcall/spend/",
    "/admin/llm/llmcall/health/",
    "/admin/llm/llmcall/canary/",
)


@pytest.fixture
def local_analyses(waiting_image):
    _, image, _ = waiting_image
    for _ in range(2):
        ImageAnalysis.objects.create(
            image=image, status=ImageAnalysis.Status.SUCCEEDED, analyser="local", model="local-pixels-v1"
        )
    return image


def test_gateway_pages_say_the_local_analyser_is_tagging_without_a_key(staff_client, local_analyses, settings):
    settings.OPENAI_API_KEY = ""
    for url in GATEWAY_PAGES:
        page = staff_client.get(url).content.decode()
        assert NOTICE in page, url
        assert "built-in local analyser" in page and "OPENAI_API_KEY" in page, url
        assert "It has run 2 analyses so far." in page, url


def test_gateway_pages_have_no_notice_once_a_provider_has_a_key(staff_client, local_analyses, settings):
    settings.OPENAI_API_KEY = "sk-test-0123456789abcdef"
    for url in GATEWAY_PAGES:
        assert NOTICE not in staff_client.get(url).content.decode(), url


def test_dashboard_counts_local_analyses_and_explains_the_idle_canary(staff_client, local_analyses, settings):
    settings.OPENAI_API_KEY = ""
    page = staff_client.get("/staff/dashboard/").content.decode()
    assert NOTICE in page
    assert 'id="kpi-local">2<' in page
    assert 'id="canary-local"' in page


def test_dashboard_canary_rows_without_calls_show_dashes_not_bare_units(staff_client, waiting_image):
    page = staff_client.get("/staff/dashboard/").content.decode()
    assert "<td>%</td>" not in page and "<td> ms</td>" not in page
    assert "<td>—</td>" in page


def test_dashboard_open_flags_figure_links_to_the_open_flags(staff_client, waiting_image):
    product, image, _ = waiting_image
    Flag.objects.create(product=product, image=image, kind=Flag.Kind.QUALITY, reason="blurry")
    page = staff_client.get("/staff/dashboard/").content.decode()
    assert '<strong id="kpi-flags"><a href="/admin/tagging/flag/?status__exact=open">1</a>' in page


def test_retag_page_names_the_local_analyser_beside_an_unconfigured_route(staff_client, waiting_image, settings):
    settings.OPENAI_API_KEY = ""
    product, _, _ = waiting_image
    page = staff_client.post(
        "/admin/catalog/product/", {"action": "retag_with_ai", "_selected_action": [product.pk]}
    ).content.decode()
    assert "(no API key: the local analyser answers)" in page


def test_tagging_report_counts_local_analyses(local_analyses):
    make_waiting_image(sku="SKU-2", colour=(9, 9, 9))
    out = io.StringIO()
    call_command("tagging_report", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["analyses"]["local"] == 2
    table = io.StringIO()
    call_command("tagging_report", stdout=table)
    assert "by the local analyser (no model call, no spend): 2" in table.getvalue()
