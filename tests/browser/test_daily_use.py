"""Staff pages in daily use, in headless Chromium: paging, undo, merges, small screens, dark mode, front door."""

import re

import pytest

from catalog.models import Category
from catalog.services import category_from_path
from tagging import views
from tagging.models import ProductTag, Tag
from tests.admin.conftest import make_waiting_image
from tests.browser.test_review_flow import OUTPUT, PASSWORD, log_in
from tests.factories import ProductFactory, TagFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NARROW = {"width": 360, "height": 780}
TAP_TARGET_PX = 40


@pytest.fixture
def reviewer(django_user_model):
    return django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", PASSWORD)


def waiting_images(count: int) -> list:
    return [
        make_waiting_image(
            sku=f"SKU-W{index}",
            tags=(("colour", f"colour-{index}", 0.55), ("material", f"material-{index}", 0.6)),
            colour=(index * 20, 40, 90),
        )
        for index in range(count)
    ]


def skus_shown(page) -> list[str]:
    return [text.strip() for text in page.locator(".ss-card h3 a").all_text_contents()]


def shot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)


def test_deciding_page_one_then_next_shows_every_remaining_image(browser_page, live_server, reviewer, monkeypatch):
    monkeypatch.setattr(views, "IMAGES_PER_PAGE", 3)
    waiting_images(7)
    page = browser_page
    log_in(page, live_server, next_path="/staff/review/")
    assert skus_shown(page) == ["SKU-W0", "SKU-W1", "SKU-W2"]
    for decided in range(1, 4):
        page.keyboard.press("Shift+A")
        page.wait_for_function(f"document.querySelectorAll('.ss-card.is-done').length === {decided}")
    page.click("#next-page")
    page.wait_for_load_state()
    assert skus_shown(page) == ["SKU-W3", "SKU-W4", "SKU-W5"]
    page.click("#next-page")
    page.wait_for_load_state()
    assert skus_shown(page) == ["SKU-W6"]
    assert ProductTag.objects.filter(status=ProductTag.Status.APPLIED).count() == 6


def test_undo_brings_the_last_decision_back_to_the_queue(browser_page, live_server, reviewer):
    [(_, _, (colour, material))] = waiting_images(1)
    page = browser_page
    log_in(page, live_server, next_path="/staff/review/")
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{colour.pk}"]')
    page.keyboard.press("r")
    page.wait_for_selector(f'.ss-tag.is-rejected[data-tag-id="{colour.pk}"]')
    assert page.is_visible("#undo-button")
    page.keyboard.press("u")
    page.wait_for_selector(f'.ss-tag[data-tag-id="{colour.pk}"]:not(.is-rejected)')
    assert page.text_content("#waiting-count") == "2"
    colour.refresh_from_db()
    assert colour.status == ProductTag.Status.NEEDS_REVIEW and colour.reviewed_by is None
    material.refresh_from_db()
    assert material.status == ProductTag.Status.NEEDS_REVIEW


def test_a_cross_facet_merge_is_refused_with_a_message(browser_page, live_server, reviewer):
    red = TagFactory(facet="colour", name="red", slug="red")
    cotton = TagFactory(facet="material", name="cotton", slug="cotton")
    crimson = TagFactory(facet="colour", name="crimson", slug="crimson")
    page = browser_page
    log_in(page, live_server, next_path="/admin/tagging/tag/")
    page.check(f'input[name="_selected_action"][value="{red.pk}"]')
    page.select_option('select[name="action"]', "merge_into")
    page.click('button[name="index"]')
    page.wait_for_selector("#merge-warning")
    offered = page.locator('select[name="target"] option').all_text_contents()
    assert "Colour: crimson" in offered and not any("cotton" in option for option in offered)
    page.goto(f"{live_server.url}/admin/tagging/tag/")
    page.check(f'input[name="_selected_action"][value="{red.pk}"]')
    page.check(f'input[name="_selected_action"][value="{cotton.pk}"]')
    page.select_option('select[name="action"]', "merge_into")
    page.click('button[name="index"]')
    page.wait_for_selector(".messagelist .error")
    assert "one facet" in page.text_content(".messagelist .error")
    assert Tag.objects.filter(pk__in=[red.pk, cotton.pk, crimson.pk]).count() == 3


def assert_fits(page, *, width: int) -> None:
    sizes = page.evaluate("[document.documentElement.scrollWidth, window.scrollX]")
    assert sizes[0] <= width, f"page is {sizes[0]} px wide"
    assert sizes[1] == 0


def small_targets(page, selector: str) -> list:
    boxes = page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.offsetParent !== null)"
        ".map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().width, e.getBoundingClientRect().height])",
    )
    assert boxes, f"nothing matched {selector}"
    return [box for box in boxes if box[1] < TAP_TARGET_PX or box[2] < TAP_TARGET_PX]


def test_review_queue_and_dashboard_fit_360_px_with_40_px_tap_targets(browser_page, live_server, reviewer):
    waiting_images(3)
    page = browser_page
    page.set_viewport_size(NARROW)
    log_in(page, live_server, next_path="/staff/review/")
    page.wait_for_selector(".ss-tag.is-current")
    assert_fits(page, width=NARROW["width"])
    shot(page, "review_queue_360.png")
    assert small_targets(page, ".ss-tag button, .ss-select, .ss-card-actions .button, .ss-selection-bar .button") == []
    page.goto(f"{live_server.url}/staff/dashboard/")
    assert_fits(page, width=NARROW["width"])
    assert small_targets(page, ".ss-period a, .ss-kpi a") == []
    shot(page, "dashboard_360.png")


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        value = value / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(page, selector: str) -> float:
    colours = page.eval_on_selector(
        selector, "e => { const s = getComputedStyle(e); return [s.color, s.backgroundColor]; }"
    )
    fg, bg = (tuple(int(part) for part in re.findall(r"\d+", colour)[:3]) for colour in colours)
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_badges_and_decided_chips_are_readable_in_dark_mode(browser_page, live_server, reviewer):
    [(_, _, (colour, _))] = waiting_images(1)
    page = browser_page
    page.emulate_media(color_scheme="dark")
    log_in(page, live_server, next_path="/staff/review/")
    page.wait_for_selector(f'.ss-tag.is-current[data-tag-id="{colour.pk}"]')
    assert contrast(page, ".ss-confidence") >= 4.5
    page.keyboard.press("a")
    page.wait_for_selector(".ss-tag.is-approved")
    assert contrast(page, ".ss-tag.is-approved") >= 4.5
    page.keyboard.press("r")
    page.wait_for_selector(".ss-tag.is-rejected")
    assert contrast(page, ".ss-tag.is-rejected") >= 4.5
    shot(page, "review_queue_dark.png")


def test_dashboard_chart_text_is_readable_on_a_laptop(browser_page, live_server, reviewer):
    waiting_images(1)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server, next_path="/staff/dashboard/")
    # The text's size as drawn: its font size in chart units times the chart's scale on screen.
    sizes = page.eval_on_selector_all(
        "svg.ss-chart text",
        "els => els.map(e => { const svg = e.ownerSVGElement;"
        " return parseFloat(getComputedStyle(e).fontSize)"
        " * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; })",
    )
    assert sizes and min(sizes) >= 11, sizes
    shot(page, "dashboard_1366.png")


def test_front_page_and_api_root_answer(browser_page, live_server):
    page = browser_page
    front = page.goto(f"{live_server.url}/")
    assert front.status == 200 and page.text_content("h1") == "Shelfsight"
    api = page.goto(f"{live_server.url}/api/")
    assert api.status == 200 and "/api/products/" in page.content()
    schema = page.goto(f"{live_server.url}/api/schema/")
    assert schema.status == 200 and "openapi:" in page.text_content("body")


def test_the_browsable_apis_patch_form_sent_unchanged_keeps_the_category(browser_page, live_server, reviewer):
    product = ProductFactory(sku="RT-B", category=category_from_path(path="Apparel > Dresses"))
    categories_before = list(Category.objects.values_list("pk", "path"))
    page = browser_page
    log_in(page, live_server, next_path="/api/products/RT-B/")
    with page.expect_response(lambda response: response.request.method == "PATCH") as answer:
        page.click('#put-generic-content-form button[data-method="PATCH"]')  # the raw form, pre-filled
    assert answer.value.status == 200
    product.refresh_from_db()
    assert product.category.path == "apparel/dresses"
    assert list(Category.objects.values_list("pk", "path")) == categories_before
