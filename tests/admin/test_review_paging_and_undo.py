"""The review queue in daily use: paging while the queue shrinks, undo, bad input, permissions."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tagging import views
from tagging.models import ProductTag, ProductTagEvent
from tests.admin.conftest import make_waiting_image

pytestmark = pytest.mark.django_db

QUEUE = "/staff/review/"
DECIDE = "/staff/review/decide/"
UNDO = "/staff/review/undo/"


def _skus_on(page: str) -> list[str]:
    return re.findall(r">(SKU-Q\d+)</a>", page)


def _next_link(page: str) -> str:
    match = re.search(r'href="([^"]+)"[^>]*id="next-page"', page)
    assert match, "no link to the next images"
    return unescape(match.group(1))


@pytest.fixture
def seven_waiting_images(db, monkeypatch):
    monkeypatch.setattr(views, "IMAGES_PER_PAGE", 3)
    return [
        make_waiting_image(sku=f"SKU-Q{index}", tags=(("colour", f"c{index}", 0.5),), colour=(index * 30, 20, 20))
        for index in range(7)
    ]


def test_next_images_after_deciding_a_page_shows_every_image_left(staff_client, seven_waiting_images):
    first = staff_client.get(QUEUE).content.decode()
    assert _skus_on(first) == ["SKU-Q0", "SKU-Q1", "SKU-Q2"]
    decided = [tags[0].pk for _, _, tags in seven_waiting_images[:3]]
    staff_client.post(DECIDE, {"decision": "approve:" + ",".join(map(str, decided))}, HTTP_ACCEPT="application/json")

    second = staff_client.get(QUEUE + _next_link(first)).content.decode()

    assert _skus_on(second) == ["SKU-Q3", "SKU-Q4", "SKU-Q5"]
    third = staff_client.get(QUEUE + _next_link(second)).content.decode()
    assert _skus_on(third) == ["SKU-Q6"]
    assert 'id="next-page"' not in third


def test_an_image_left_undecided_on_a_page_is_not_lost_by_paging(staff_client, seven_waiting_images):
    first = staff_client.get(QUEUE).content.decode()
    second = staff_client.get(QUEUE + _next_link(first)).content.decode()
    assert _skus_on(second) == ["SKU-Q3", "SKU-Q4", "SKU-Q5"]
    assert 'id="first-page"' in second
    assert _skus_on(staff_client.get(QUEUE).content.decode()) == ["SKU-Q0", "SKU-Q1", "SKU-Q2"]


def test_a_malformed_position_shows_the_first_images(staff_client, seven_waiting_images):
    page = staff_client.get(QUEUE, {"after": "yesterday|x|99999999999999999999999"}).content.decode()
    assert _skus_on(page) == ["SKU-Q0", "SKU-Q1", "SKU-Q2"]


def test_review_queue_filters_to_one_product(staff_client, seven_waiting_images):
    product, _, _ = seven_waiting_images[5]
    page = staff_client.get(QUEUE, {"product": product.pk}).content.decode()
    assert _skus_on(page) == ["SKU-Q5"]


@pytest.mark.parametrize(
    "decision",
    ["approve:99999999999999999999999", "reject:-1", "approve:0", "approve:1e3", "reject:" + ",".join(["1"] * 1001)],
)
def test_out_of_range_decision_ids_are_a_clear_400(staff_client, waiting_image, decision):
    response = staff_client.post(DECIDE, {"decision": decision})
    assert response.status_code == 400
    assert b"decision must be" in response.content
    assert ProductTag.objects.filter(status=ProductTag.Status.NEEDS_REVIEW).count() == 3


def test_out_of_range_selected_ids_are_a_clear_400(staff_client, waiting_image):
    response = staff_client.post(DECIDE, {"decision": "approve:selected", "product_tag_ids": ["9" * 30]})
    assert response.status_code == 400


def test_undo_sends_the_last_decision_back_to_the_queue(staff_client, staff_user, waiting_image):
    _, _, tags = waiting_image
    staff_client.post(DECIDE, {"decision": f"approve:{tags[0].pk}"}, HTTP_ACCEPT="application/json")
    decided = staff_client.post(DECIDE, {"decision": f"reject:{tags[1].pk}"}, HTTP_ACCEPT="application/json")
    assert decided.json()["undo"] == 2
    assert 'id="undo-button" class="button"\n' in staff_client.get(QUEUE).content.decode()

    undone = staff_client.post(UNDO, HTTP_ACCEPT="application/json").json()

    assert undone["count"] == 1
    assert undone["statuses"] == {str(tags[1].pk): ProductTag.Status.NEEDS_REVIEW}
    assert undone["waiting"] == 2
    tags[1].refresh_from_db()
    assert (tags[1].status, tags[1].reviewed_by, tags[1].reviewed_at) == (ProductTag.Status.NEEDS_REVIEW, None, None)
    event = tags[1].events.order_by("-id").first()
    assert (event.action, event.actor, event.status_before) == (
        ProductTagEvent.Action.UNDONE,
        staff_user,
        ProductTag.Status.REJECTED,
    )
    response = staff_client.post(UNDO, {"next": QUEUE})
    assert response.status_code == 302
    tags[0].refresh_from_db()
    assert tags[0].status == ProductTag.Status.NEEDS_REVIEW
    assert staff_client.post(UNDO, HTTP_ACCEPT="application/json").json() == {
        "count": 0,
        "statuses": {},
        "waiting": 3,
        "undo": 0,
    }


def test_undo_leaves_a_tag_changed_after_the_decision(staff_client, staff_user, waiting_image):
    from tagging import services

    _, _, tags = waiting_image
    staff_client.post(DECIDE, {"decision": f"approve:{tags[0].pk}"})
    services.reject_tags(product_tag_ids=[tags[0].pk], reviewer=staff_user)
    assert staff_client.post(UNDO, HTTP_ACCEPT="application/json").json()["count"] == 0
    tags[0].refresh_from_db()
    assert tags[0].status == ProductTag.Status.REJECTED


@pytest.fixture
def bare_staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", "clerk@example.com", "a clerk password", is_staff=True)
    client.force_login(user)
    return client, user


def test_staff_without_permissions_see_no_review_dashboard_or_image(bare_staff_client, waiting_image):
    client, _ = bare_staff_client
    _, image, tags = waiting_image
    assert client.get(QUEUE).status_code == 403
    assert client.get("/staff/dashboard/").status_code == 403
    assert client.get(reverse("tagging:image-file", args=[image.pk])).status_code == 403
    assert client.post(DECIDE, {"decision": f"approve:{tags[0].pk}"}).status_code == 403
    assert client.post(UNDO).status_code == 403
    assert ProductTag.objects.filter(status=ProductTag.Status.NEEDS_REVIEW).count() == 3


def test_staff_with_the_review_permissions_can_review(bare_staff_client, waiting_image):
    client, user = bare_staff_client
    _, image, tags = waiting_image
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_producttag", "change_producttag", "view_productimage"])
    )
    assert client.get(QUEUE).status_code == 200
    assert client.get(reverse("tagging:image-file", args=[image.pk])).status_code == 200
    assert client.post(DECIDE, {"decision": f"approve:{tags[0].pk}"}).status_code == 302
    assert client.get("/staff/dashboard/").status_code == 403


def test_admin_index_offers_staff_tools_only_to_those_allowed(bare_staff_client, waiting_image):
    client, _ = bare_staff_client
    page = client.get("/admin/").content.decode()
    assert 'id="staff-tools"' not in page and QUEUE not in page
