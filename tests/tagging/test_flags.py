"""Prohibited content holds a product until staff clear it; poor photos get a quality flag."""

import io

from PIL import Image, ImageFilter

from catalog.models import Product
from catalog.services import add_product_image
from tagging import services
from tagging.models import Flag
from tests.tagging.conftest import full_answer


def test_prohibited_signal_above_threshold_holds_the_product(product_image, provider_settings, answering):
    answering(full_answer(x=["weapons 88"]))

    services.analyze_image(image_id=product_image.pk)

    product = Product.objects.get(pk=product_image.product_id)
    assert product.status == Product.Status.HELD
    assert "weapons" in product.hold_reason
    flag = Flag.objects.get(kind=Flag.Kind.PROHIBITED)
    assert (flag.reason, flag.confidence, flag.status) == ("weapons", 0.88, Flag.Status.OPEN)
    assert not Product.objects.public().filter(pk=product.pk).exists()


def test_prohibited_signal_below_threshold_raises_no_flag(product_image, provider_settings, answering):
    answering(full_answer(x=["weapons 30"]))

    services.analyze_image(image_id=product_image.pk)

    assert Product.objects.get(pk=product_image.product_id).status == Product.Status.ACTIVE
    assert not Flag.objects.filter(kind=Flag.Kind.PROHIBITED).exists()


def test_clearing_the_last_prohibited_flag_releases_the_product(
    product_image, provider_settings, answering, admin_user
):
    answering(full_answer(x=["weapons 88", "drugs 91"]))
    services.analyze_image(image_id=product_image.pk)
    weapons, drugs = Flag.objects.get(reason="weapons"), Flag.objects.get(reason="drugs")

    services.clear_flag(flag_id=weapons.pk, reviewer=admin_user)
    held_after_first = Product.objects.get(pk=product_image.product_id).status
    services.clear_flag(flag_id=drugs.pk, reviewer=admin_user)

    assert held_after_first == Product.Status.HELD
    product = Product.objects.get(pk=product_image.product_id)
    assert (product.status, product.hold_reason) == (Product.Status.ACTIVE, "")
    weapons.refresh_from_db()
    assert (weapons.status, weapons.cleared_by) == (Flag.Status.CLEARED, admin_user)


def test_release_restores_a_draft_product_to_draft(product_image, provider_settings, answering, admin_user):
    Product.objects.filter(pk=product_image.product_id).update(status=Product.Status.DRAFT)
    answering(full_answer(x=["counterfeit 95"]))
    services.analyze_image(image_id=product_image.pk)

    services.clear_flag(flag_id=Flag.objects.get(kind=Flag.Kind.PROHIBITED).pk, reviewer=admin_user)

    assert Product.objects.get(pk=product_image.product_id).status == Product.Status.DRAFT


def test_a_cleared_prohibited_flag_is_not_raised_again_by_a_retag(
    product_image, provider_settings, answering, admin_user
):
    answering(full_answer(x=["weapons 88"]))
    services.analyze_image(image_id=product_image.pk)
    services.clear_flag(flag_id=Flag.objects.get(kind=Flag.Kind.PROHIBITED).pk, reviewer=admin_user)

    services.analyze_image(image_id=product_image.pk, force=True)

    assert Product.objects.get(pk=product_image.product_id).status == Product.Status.ACTIVE
    assert Flag.objects.filter(kind=Flag.Kind.PROHIBITED).count() == 1


def test_blurred_photo_gets_a_quality_flag_and_a_sharp_one_does_not(product, provider_settings, answering):
    from catalog.demo import demo_products, draw_product_image

    demo = next(iter(demo_products(1)))
    sharp_bytes = draw_product_image(demo, size=900)
    blurred = Image.open(io.BytesIO(sharp_bytes)).filter(ImageFilter.GaussianBlur(8))
    buffer = io.BytesIO()
    blurred.save(buffer, format="JPEG", quality=90)
    sharp = add_product_image(product=product, upload=io.BytesIO(sharp_bytes))
    soft = add_product_image(product=product, upload=io.BytesIO(buffer.getvalue()))
    answering(full_answer())

    services.analyze_image(image_id=sharp.pk)
    services.analyze_image(image_id=soft.pk)

    flags = Flag.objects.filter(kind=Flag.Kind.QUALITY)
    assert [(flag.image_id, flag.reason) for flag in flags] == [(soft.pk, "blurry")]
    assert flags.get().details["score"] < services.QUALITY_FLAG_BELOW
