"""Product and analysis pages in daily use: tag state, tag filter and search, uploads, audit records."""

import re

import pytest
from django.contrib.messages import get_messages

from catalog.models import ProductImage
from tagging.models import ImageAnalysis, ProductTag
from tests.admin.conftest import make_waiting_image
from tests.admin.test_admin_products import CHANGELIST, change_form_data
from tests.factories import ProductFactory, image_upload

pytestmark = pytest.mark.django_db


def _changelist_skus(page: str) -> set[str]:
    return set(re.findall(r'<th class="field-sku"><a href="[^"]+">([^<]+)</a>', page))


def test_product_page_tells_applied_tags_from_waiting_ones(staff_client, waiting_image):
    product, _, tags = waiting_image
    ProductTag.objects.filter(pk=tags[0].pk).update(status=ProductTag.Status.APPLIED)
    page = staff_client.get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert re.search(r'<span class="ss-chip ss-chip-applied"[^>]*>red</span>', page)
    waiting = re.search(r'<a class="ss-chip ss-chip-waiting"[^>]*href="([^"]+)">cotton \?</a>', page)
    assert waiting and waiting.group(1) == f"/staff/review/?product={product.pk}"
    queue = staff_client.get(waiting.group(1)).content.decode()
    assert ">cotton<" in queue and ">red<" not in queue


def test_product_list_filters_by_an_applied_tag(staff_client, waiting_image):
    product, _, tags = waiting_image
    _, _, other_tags = make_waiting_image(sku="SKU-OTHER", tags=(("colour", "teal", 0.5),), colour=(0, 90, 90))
    ProductTag.objects.filter(pk__in=[tags[0].pk, other_tags[0].pk]).update(status=ProductTag.Status.APPLIED)
    page = staff_client.get(CHANGELIST, {"tag": tags[0].tag_id}).content.decode()
    assert _changelist_skus(page) == {product.sku}
    waiting_only = staff_client.get(CHANGELIST, {"tag": tags[1].tag_id}).content.decode()
    assert _changelist_skus(waiting_only) == set()
    assert staff_client.get(CHANGELIST, {"tag": "9" * 30}).status_code == 200


def test_product_search_finds_applied_tag_names(staff_client, waiting_image):
    product, _, tags = waiting_image
    ProductFactory(sku="PLAIN-1", title="Plain thing")
    ProductTag.objects.filter(pk=tags[1].pk).update(status=ProductTag.Status.APPLIED)
    page = staff_client.get(CHANGELIST, {"q": "cotton"}).content.decode()
    assert _changelist_skus(page) == {product.sku}
    assert _changelist_skus(staff_client.get(CHANGELIST, {"q": "casual"}).content.decode()) == set()


def test_upload_message_says_the_analysis_is_queued_and_the_page_shows_its_state(staff_client):
    product = ProductFactory()
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/", change_form_data(product, **{"images-0-upload": image_upload()})
    )
    texts = [message.message for message in get_messages(response.wsgi_request)]
    assert any("queued for analysis by the built-in local analyser" in text for text in texts), texts
    image = ProductImage.objects.get(product=product)
    ImageAnalysis.objects.create(
        image=image, status=ImageAnalysis.Status.FAILED, model="gpt-4.1", error_class="ProviderUnavailable"
    )
    page = staff_client.get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert 'class="ss-analysis-failed">Failed</a> by gpt-4.1: ProviderUnavailable' in page


@pytest.fixture
def finished_analysis(waiting_image):
    _, image, _ = waiting_image
    return ImageAnalysis.objects.create(
        image=image,
        status=ImageAnalysis.Status.SUCCEEDED,
        model="gpt-4.1",
        result={"tags": [["colour", "red", 0.91], ["material", "<b>cotton</b>", 0.55]], "prohibited": {"weapons": 0.2}},
        quality_score=6.25,
    )


def test_analysis_page_shows_the_image_and_findings_as_a_table(staff_client, finished_analysis):
    page = staff_client.get(f"/admin/tagging/imageanalysis/{finished_analysis.pk}/change/").content.decode()
    assert f'src="/staff/images/{finished_analysis.image_id}/"' in page
    assert "<tr><td>colour</td><td>red</td><td>0.91</td></tr>" in page
    assert "<td>&lt;b&gt;cotton&lt;/b&gt;</td>" in page
    assert '<td>prohibited</td><td>weapons</td><td>0.20</td>' in page
    assert "6.2" in page


def test_analyses_are_read_only_audit_records(staff_client, finished_analysis):
    url = f"/admin/tagging/imageanalysis/{finished_analysis.pk}/"
    page = staff_client.get(url + "change/").content.decode()
    assert 'class="deletelink"' not in page
    assert staff_client.get(url + "delete/").status_code == 403
    assert staff_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    changelist = staff_client.get("/admin/tagging/imageanalysis/").content.decode()
    assert 'value="delete_selected"' not in changelist
    assert ImageAnalysis.objects.filter(pk=finished_analysis.pk).exists()
