import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tagging.models import Flag, ProductTag, ProductTagEvent
from tests.admin.conftest import make_waiting_image

pytestmark = pytest.mark.django_db

QUEUE = "/staff/review/"
DECIDE = "/staff/review/decide/"


def test_review_queue_requires_staff(client, waiting_image):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_review_queue_shows_each_image_with_tags_grouped_by_facet(staff_client, waiting_image):
    product, image, _ = waiting_image
    response = staff_client.get(QUEUE)
    assert response.status_code == 200
    page = response.content.decode()
    assert product.sku in page
    assert reverse("tagging:image-file", args=[image.pk]) in page
    for facet in ("Colour", "Material", "Style"):
        assert f'<span class="ss-facet-name">{facet}</span>' in page
    assert "gemini-2.5-flash" in page
    assert "0.62" in page
    assert "review.js" in page


def test_review_queue_filters_by_model(staff_client, waiting_image):
    make_waiting_image(sku="SKU-BLUE", model="gpt-4.1", tags=(("colour", "blue", 0.5),), colour=(20, 30, 200))
    page = staff_client.get(QUEUE, {"model": "gpt-4.1"}).content.decode()
    assert "SKU-BLUE" in page
    assert "SKU-RED" not in page


def test_review_queue_filters_by_facet(staff_client, waiting_image):
    page = staff_client.get(QUEUE, {"facet": "material"}).content.decode()
    assert ">cotton<" in page
    assert ">casual<" not in page


def test_review_queue_filters_by_confidence_band(staff_client, waiting_image):
    make_waiting_image(sku="SKU-MID", tags=(("colour", "navy", 0.8),), colour=(10, 10, 90))
    page = staff_client.get(QUEUE, {"band": "medium"}).content.decode()
    assert "SKU-MID" in page
    assert "SKU-RED" not in page


def test_review_queue_filters_by_open_flag(staff_client, waiting_image):
    flagged, flagged_image, _ = make_waiting_image(sku="SKU-FLAG", tags=(("colour", "black", 0.5),), colour=(5, 5, 5))
    Flag.objects.create(product=flagged, image=flagged_image, kind=Flag.Kind.PROHIBITED, reason="weapons")
    page = staff_client.get(QUEUE, {"flag": "prohibited"}).content.decode()
    assert "SKU-FLAG" in page
    assert "SKU-RED" not in page
    assert "weapons" in page
    unflagged = staff_client.get(QUEUE, {"flag": "none"}).content.decode()
    assert "SKU-FLAG" not in unflagged


def test_approving_one_tag_records_who_and_what_the_model_said(staff_client, staff_user, waiting_image):
    _, _, tags = waiting_image
    response = staff_client.post(DECIDE, {"decision": f"approve:{tags[0].pk}"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["waiting"] == 2
    tags[0].refresh_from_db()
    assert tags[0].status == ProductTag.Status.APPLIED
    assert tags[0].reviewed_by == staff_user
    event = ProductTagEvent.objects.get(product_tag=tags[0], action=ProductTagEvent.Action.APPROVED)
    assert event.actor == staff_user
    assert event.model == "gemini-2.5-flash"


def test_rejecting_all_tags_of_an_image(staff_client, waiting_image):
    _, _, tags = waiting_image
    ids = ",".join(str(tag.pk) for tag in tags)
    response = staff_client.post(DECIDE, {"decision": f"reject:{ids}", "next": QUEUE})
    assert response.status_code == 302
    assert set(ProductTag.objects.values_list("status", flat=True)) == {ProductTag.Status.REJECTED}


def test_approving_a_selection_leaves_the_rest_waiting(staff_client, waiting_image):
    _, _, tags = waiting_image
    staff_client.post(DECIDE, {"decision": "approve:selected", "product_tag_ids": [tags[0].pk, tags[2].pk]})
    statuses = dict(ProductTag.objects.values_list("pk", "status"))
    assert statuses[tags[0].pk] == statuses[tags[2].pk] == ProductTag.Status.APPLIED
    assert statuses[tags[1].pk] == ProductTag.Status.NEEDS_REVIEW


def test_decision_with_an_unknown_verb_is_refused(staff_client, waiting_image):
    _, _, tags = waiting_image
    response = staff_client.post(DECIDE, {"decision": f"delete:{tags[0].pk}"})
    assert response.status_code == 400
    assert ProductTag.objects.filter(status=ProductTag.Status.NEEDS_REVIEW).count() == 3


def test_decide_redirect_ignores_foreign_next_url(staff_client, waiting_image):
    _, _, tags = waiting_image
    response = staff_client.post(DECIDE, {"decision": f"approve:{tags[0].pk}", "next": "https://evil.example/"})
    assert response["Location"] == QUEUE


def test_admin_index_shows_the_number_waiting(staff_client, waiting_image):
    page = staff_client.get("/admin/").content.decode()
    assert '<strong id="review-waiting-count">3</strong>' in page
    assert QUEUE in page


def test_image_file_is_served_to_staff_only(staff_client, waiting_image):
    _, image, _ = waiting_image
    url = reverse("tagging:image-file", args=[image.pk])
    assert Client().get(url).status_code == 302
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_review_queue_queries_do_not_grow_with_the_page(staff_client, waiting_image, django_assert_max_num_queries):
    staff_client.get(QUEUE)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(QUEUE)
    for index in range(6):
        make_waiting_image(sku=f"SKU-N{index}", tags=(("colour", f"c{index}", 0.5), ("style", f"s{index}", 0.6)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff_client.get(QUEUE)
