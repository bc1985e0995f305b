"""The admin review flow in headless Chromium (Debian's, no browser download), driven by keyboard."""

from pathlib import Path

import pytest

from tagging.models import ProductTag
from tests.admin.conftest import make_waiting_image, record_call

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PASSWORD = "a long browser password"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (bin/install --dev installs it)")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from
    # a thread with a running loop unless told the test knows what it is doing.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def log_in(page, live_server, *, next_path: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_staff_approve_and_reject_tags_with_the_keyboard(browser_page, live_server, django_user_model):
    django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", PASSWORD)
    _, _, (colour, material) = make_waiting_image(
        sku="SKU-BROWSER", tags=(("colour", "red", 0.64), ("material", "denim", 0.52))
    )
    _, _, (style,) = make_waiting_image(
        sku="SKU-OTHER", model="gpt-4.1", tags=(("style", "sporty", 0.58),), colour=(30, 140, 60)
    )
    page = browser_page
    log_in(page, live_server, next_path="/staff/review/")
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{colour.pk}"]')

    page.keyboard.press("j")
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{material.pk}"]')
    page.keyboard.press("k")
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{colour.pk}"]')
    page.keyboard.press("a")
    page.wait_for_selector(f'.ss-tag.is-approved[data-tag-id="{colour.pk}"]')
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{material.pk}"]')
    page.keyboard.press("r")
    page.wait_for_selector(f'.ss-tag.is-rejected[data-tag-id="{material.pk}"]')
    assert page.text_content("#waiting-count") == "1"
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{style.pk}"]')
    page.keyboard.press("x")
    page.wait_for_selector(f'.ss-tag.is-selected[data-tag-id="{style.pk}"]')
    assert page.text_content("#selection-count") == "1 selected"

    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "review_queue.png"), full_page=True)

    colour.refresh_from_db()
    material.refresh_from_db()
    assert colour.status == ProductTag.Status.APPLIED
    assert colour.reviewed_by.username == "reviewer"
    assert material.status == ProductTag.Status.REJECTED
    assert ProductTag.objects.filter(status=ProductTag.Status.NEEDS_REVIEW).count() == 1


def test_dashboard_renders_its_charts_in_the_browser(browser_page, live_server, django_user_model):
    django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", PASSWORD)
    make_waiting_image(sku="SKU-DASH", tags=(("colour", "red", 0.6), ("pattern", "striped", 0.5)))
    for latency in (420, 610, 880, 1300):
        record_call(model="gemini-2.5-flash", latency=latency, cost="0.0011")
    record_call(model="gpt-4.1", latency=2400, cost="0.006")
    record_call(model="gpt-4.1", latency=5000, cost="0", outcome="timeout")
    page = browser_page
    log_in(page, live_server, next_path="/staff/dashboard/")
    assert page.locator("svg.ss-chart").count() >= 5
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
