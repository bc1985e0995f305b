import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import OrmQ

from catalog.models import Product, ProductImage
from catalog.services import add_product_image
from tagging.models import Flag, ImageAnalysis, ProductTag
from tests.admin.conftest import make_waiting_image
from tests.factories import ProductFactory, image_upload

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"


def run_action(client, action, products, **extra):
    data = {"action": action, "_selected_action": [product.pk for product in products], **extra}
    return client.post(CHANGELIST, data)


def change_form_data(product, **overrides):
    data = {
        "sku": product.sku,
        "status": product.status,
        "title": product.title,
        "description": product.description,
        "price": str(product.price),
        "currency": product.currency,
        "category": "",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-position": "0",
        "images-0-product": str(product.pk),
        "flags-TOTAL_FORMS": "0",
        "flags-INITIAL_FORMS": "0",
        "flags-MIN_NUM_FORMS": "0",
        "flags-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_product_list_shows_thumbnails_and_searches_by_sku(staff_client, waiting_image):
    ProductFactory(sku="OTHER-1", title="Something else")
    page = staff_client.get(CHANGELIST, {"q": "SKU-RED"}).content.decode()
    assert "SKU-RED" in page
    assert "OTHER-1" not in page
    assert "<img src=" in page


def test_product_page_shows_tag_chips_by_facet(staff_client, waiting_image):
    product, _, _ = waiting_image
    page = staff_client.get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert 'class="ss-chip ss-chip-waiting"' in page
    assert ">cotton ?</a>" in page
    assert "material" in page


def test_uploading_an_image_in_the_inline_adds_it_through_the_service(staff_client):
    product = ProductFactory()
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/", change_form_data(product, **{"images-0-upload": image_upload()})
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    image = ProductImage.objects.get(product=product)
    assert image.format == "JPEG" and len(image.sha256) == 64


def test_the_product_history_records_the_uploaded_image_and_says_one_is_queued(staff_client):
    product = ProductFactory()
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/", change_form_data(product, **{"images-0-upload": image_upload()})
    )

    image = ProductImage.objects.get(product=product)
    entry = LogEntry.objects.get(object_id=str(product.pk))
    assert entry.get_change_message() == f"Added product image “{image}”."
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    assert any(text.startswith("1 image(s) uploaded and queued for analysis") for text in texts), texts


def test_moving_an_image_changes_only_its_position_and_the_history_says_so(staff_client):
    product = ProductFactory()
    image = add_product_image(product=product, upload=image_upload())
    stored = (image.image.name, image.sha256)
    data = change_form_data(
        product, **{"images-INITIAL_FORMS": "1", "images-0-id": str(image.pk), "images-0-position": "3"}
    )

    response = staff_client.post(f"{CHANGELIST}{product.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    image.refresh_from_db()
    assert image.position == 3 and (image.image.name, image.sha256) == stored
    entry = LogEntry.objects.get(object_id=str(product.pk))
    assert entry.get_change_message() == f"Changed Position for product image “{image}”."
    assert not any("queued" in str(message) for message in get_messages(response.wsgi_request))


def test_a_refused_upload_is_a_form_error_and_nothing_is_saved(staff_client):
    product = ProductFactory(title="Before")
    bogus = SimpleUploadedFile("photo.jpg", b"this is not an image", content_type="image/jpeg")
    response = staff_client.post(
        f"{CHANGELIST}{product.pk}/change/",
        change_form_data(product, title="After", **{"images-0-upload": bogus}),
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    product.refresh_from_db()
    assert product.title == "Before"
    assert not ProductImage.objects.exists()


def test_retag_action_first_shows_image_count_and_estimated_cost(staff_client, waiting_image):
    product, _, _ = waiting_image
    response = run_action(staff_client, "retag_with_ai", [product])
    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong id="retag-image-count">1</strong>' in page
    assert 'id="retag-estimated-cost">$' in page
    assert not OrmQ.objects.exists()


def test_confirming_retag_queues_every_image_of_the_selection(staff_client, waiting_image):
    product, _, _ = waiting_image
    other, _, _ = make_waiting_image(sku="SKU-2", colour=(10, 200, 10))
    response = run_action(staff_client, "retag_with_ai", [product, other], confirm="yes", workflow="quality")
    assert response.status_code == 302
    queued = ImageAnalysis.objects.filter(status=ImageAnalysis.Status.QUEUED, force=True, workflow="quality")
    assert set(queued.values_list("image__product__sku", flat=True)) == {"SKU-RED", "SKU-2"}


def test_approve_all_pending_applies_every_waiting_tag(staff_client, waiting_image):
    product, _, _ = waiting_image
    run_action(staff_client, "approve_all_pending", [product])
    assert set(ProductTag.objects.values_list("status", flat=True)) == {ProductTag.Status.APPLIED}


def test_hold_then_publish(staff_client):
    product = ProductFactory(status=Product.Status.ACTIVE)
    run_action(staff_client, "hold_products", [product])
    product.refresh_from_db()
    assert product.status == Product.Status.HELD
    run_action(staff_client, "publish_products", [product])
    product.refresh_from_db()
    assert product.status == Product.Status.ACTIVE


def test_publish_keeps_a_product_with_an_open_prohibited_flag_held(staff_client, waiting_image):
    product, image, _ = waiting_image
    product.status = Product.Status.HELD
    product.save()
    Flag.objects.create(product=product, image=image, kind=Flag.Kind.PROHIBITED, reason="weapons")
    run_action(staff_client, "publish_products", [product])
    product.refresh_from_db()
    assert product.status == Product.Status.HELD


def test_clear_flags_action_clears_open_flags_and_releases_the_hold(staff_client, staff_user, waiting_image):
    product, image, _ = waiting_image
    product.status = Product.Status.HELD
    product.save()
    flag = Flag.objects.create(product=product, image=image, kind=Flag.Kind.PROHIBITED, reason="weapons")
    run_action(staff_client, "clear_flags", [product])
    flag.refresh_from_db()
    assert flag.status == Flag.Status.CLEARED and flag.cleared_by == staff_user
    product.refresh_from_db()
    assert product.status != Product.Status.HELD


def test_image_page_lists_its_analyses(staff_client, waiting_image):
    _, image, _ = waiting_image
    page = staff_client.get(f"/admin/catalog/productimage/{image.pk}/change/").content.decode()
    assert "gemini-2.5-flash" in page
    assert "succeeded" in page.lower()
