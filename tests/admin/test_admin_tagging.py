import pytest

from tagging.models import Flag, ImageAnalysis, ProductTag, ProductTagEvent, Tag
from tests.factories import TagFactory

pytestmark = pytest.mark.django_db


def run_action(client, url, action, objects, **extra):
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects], **extra})


def test_review_list_approve_action(staff_client, staff_user, waiting_image):
    _, _, tags = waiting_image
    run_action(staff_client, "/admin/tagging/producttag/", "approve", tags[:2])
    statuses = dict(ProductTag.objects.values_list("pk", "status"))
    assert statuses[tags[0].pk] == statuses[tags[1].pk] == ProductTag.Status.APPLIED
    assert statuses[tags[2].pk] == ProductTag.Status.NEEDS_REVIEW


def test_review_list_reject_action(staff_client, waiting_image):
    _, _, tags = waiting_image
    run_action(staff_client, "/admin/tagging/producttag/", "reject", tags[:1])
    assert ProductTag.objects.get(pk=tags[0].pk).status == ProductTag.Status.REJECTED


def test_review_list_filters_by_status(staff_client, waiting_image):
    page = staff_client.get("/admin/tagging/producttag/", {"status__exact": "needs_review"}).content.decode()
    assert "3 product tags" in page


def test_product_tag_page_shows_its_history(staff_client, staff_user, waiting_image):
    _, _, tags = waiting_image
    ProductTagEvent.objects.create(
        product_tag=tags[0], action=ProductTagEvent.Action.PROPOSED, model="gemini-2.5-flash", confidence=0.62
    )
    page = staff_client.get(f"/admin/tagging/producttag/{tags[0].pk}/change/").content.decode()
    assert "Proposed for review" in page
    assert "gemini-2.5-flash" in page


def test_merge_action_asks_for_the_target_first(staff_client, waiting_image):
    source = Tag.objects.get(name="red")
    response = run_action(staff_client, "/admin/tagging/tag/", "merge_into", [source])
    assert response.status_code == 200
    assert 'name="target"' in response.content.decode()


def test_merge_action_moves_every_product_tag_to_the_target(staff_client, waiting_image):
    product, _, _ = waiting_image
    source = Tag.objects.get(name="red")
    target = TagFactory(facet="colour", name="crimson", slug="crimson")
    response = run_action(
        staff_client, "/admin/tagging/tag/", "merge_into", [source], confirm="yes", target=str(target.pk)
    )
    assert response.status_code == 302
    assert ProductTag.objects.filter(product=product, tag=target).exists()
    assert not ProductTag.objects.filter(tag=source).exists()


def test_accept_proposed_tag_action(staff_client):
    proposed = TagFactory(facet="pattern", name="houndstooth", slug="houndstooth", status=Tag.Status.PROPOSED)
    run_action(staff_client, "/admin/tagging/tag/", "accept_proposed", [proposed])
    proposed.refresh_from_db()
    assert proposed.status == Tag.Status.CANONICAL


def test_tag_page_edits_synonyms_inline(staff_client):
    tag = TagFactory(facet="colour", name="navy", slug="navy")
    page = staff_client.get(f"/admin/tagging/tag/{tag.pk}/change/").content.decode()
    assert "synonyms-TOTAL_FORMS" in page


def test_flag_clear_action(staff_client, staff_user, waiting_image):
    product, image, _ = waiting_image
    flag = Flag.objects.create(product=product, image=image, kind=Flag.Kind.QUALITY, reason="blurry")
    run_action(staff_client, "/admin/tagging/flag/", "clear", [flag])
    flag.refresh_from_db()
    assert flag.status == Flag.Status.CLEARED
    assert flag.cleared_by == staff_user


def test_analysis_pages_are_read_only(staff_client, waiting_image):
    analysis = ImageAnalysis.objects.get()
    listing = staff_client.get("/admin/tagging/imageanalysis/").content.decode()
    assert "gemini-2.5-flash" in listing and "0.000400" in listing
    page = staff_client.get(f"/admin/tagging/imageanalysis/{analysis.pk}/change/")
    assert page.status_code == 200
    assert 'name="model"' not in page.content.decode()
    assert staff_client.get("/admin/tagging/imageanalysis/add/").status_code == 403
