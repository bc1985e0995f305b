"""Hostile uploads (tests/fakes/hostile_images.py) through every door: the catalog service, the
API upload endpoint and the admin. Each file is accepted correctly or refused with a clear
message; nothing answers 5xx and nothing is left behind under MEDIA_ROOT."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps

from catalog.exceptions import ImageRejected
from catalog.models import ProductImage
from catalog.services import add_product_image
from tests.factories import ProductFactory
from tests.fakes.hostile_images import ACCEPTED, REFUSED, case_named, corpus_names, hostile_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hundreds of parametrised cases each make a user; the real hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in Path(root).rglob("*") if path.is_file()) if Path(root).exists() else []


def upload_of(case) -> SimpleUploadedFile:
    return SimpleUploadedFile(case.filename, case.content, content_type=case.content_type)


def test_corpus_has_at_least_two_hundred_files_of_every_kind():
    corpus = hostile_corpus()
    assert len(corpus) >= 200
    kinds = {case.name.split("-")[0] for case in corpus}
    assert {"truncated", "corrupt", "zero", "bomb", "strip", "document", "cmyk", "animated", "exif"} <= kinds
    assert {case.expected for case in corpus} == {ACCEPTED, REFUSED}


@pytest.mark.parametrize("name", corpus_names())
def test_hostile_file_through_the_catalog_service(name, settings):
    case = case_named(name)
    product = ProductFactory()
    if case.expected == REFUSED:
        with pytest.raises(ImageRejected) as refused:
            add_product_image(product=product, upload=upload_of(case))
        message = str(refused.value)
        assert case.reason.lower() in message.lower()
        assert message.endswith((".", ")")) and "Traceback" not in message
        assert not ProductImage.objects.exists()
        assert files_under(settings.MEDIA_ROOT) == []
        assert files_under(settings.STORAGES["originals"]["OPTIONS"]["location"]) == []
    else:
        image = add_product_image(product=product, upload=upload_of(case))
        assert (image.width, image.height) == case.size
        assert files_under(settings.MEDIA_ROOT) == [Path(image.image.path)]
        # Served upright and without photo metadata; the upload itself kept as sent, privately.
        served = Path(image.image.path).read_bytes()
        assert (Path(image.original.path).read_bytes() if image.original else served) == case.content
        with Image.open(io.BytesIO(served)) as public:
            assert public.size == case.size
            assert set(public.getexif()) <= {ImageOps.ExifTags.Base.Orientation} and "comment" not in public.info


@pytest.mark.parametrize("name", [case.name for case in hostile_corpus() if case.expected == ACCEPTED])
def test_accepted_hostile_file_prepares_into_an_upright_rgb_jpeg_for_the_model(name):
    import io

    from PIL import Image, ImageStat

    from tagging.analysis.prepare import MAX_MODEL_IMAGE_SIDE, prepare_image

    case = case_named(name)
    prepared = prepare_image(case.content)
    with Image.open(io.BytesIO(prepared.jpeg)) as sent:
        assert (sent.format, sent.mode) == ("JPEG", "RGB")
        assert max(sent.size) <= MAX_MODEL_IMAGE_SIDE
        # Upright: the long side of what is sent matches the long side the catalog recorded.
        assert (sent.width >= sent.height) == (case.size[0] >= case.size[1])
        # Not blown out to white or crushed to black (16-bit and CMYK conversions do that when wrong).
        assert 5 < sum(ImageStat.Stat(sent).mean) / 3 < 250


@pytest.fixture
def uploader():
    from django.contrib.auth.models import Permission, User
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = User.objects.create_user("integration")
    user.user_permissions.add(Permission.objects.get(codename="add_productimage"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.parametrize("name", corpus_names())
def test_hostile_file_through_the_api_upload_endpoint(name, uploader, settings):
    case = case_named(name)
    product = ProductFactory(sku="HOSTILE-1")
    response = uploader.post(f"/api/products/{product.sku}/images/", {"image": upload_of(case)}, format="multipart")
    if case.expected == REFUSED:
        assert response.status_code == 400, response.content[:300]
        message = " ".join(response.json()["image"])
        assert message and case.reason.lower() in message.lower()
        assert not ProductImage.objects.exists()
        assert files_under(settings.MEDIA_ROOT) == []
    else:
        assert response.status_code == 201, response.content[:300]
        image = ProductImage.objects.get()
        assert (response.json()["width"], response.json()["height"]) == case.size == (image.width, image.height)
        assert files_under(settings.MEDIA_ROOT) == [Path(image.image.path)]


def admin_change_form_data(client, product) -> dict:
    """The product change form as the admin renders it, ready to post back."""
    response = client.get(f"/admin/catalog/product/{product.pk}/change/")
    assert response.status_code == 200
    data = {}
    form = response.context["adminform"].form
    for field_name, field in form.fields.items():
        value = form.initial.get(field_name, field.initial)
        if value is not None:
            data[field_name] = value.pk if hasattr(value, "pk") else value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for field_name in management.fields:
            data[f"{management.prefix}-{field_name}"] = management.initial.get(field_name, 0)
    return data


@pytest.mark.parametrize("name", corpus_names())
def test_hostile_file_through_the_admin_product_page(name, admin_client, settings):
    case = case_named(name)
    product = ProductFactory()
    data = admin_change_form_data(admin_client, product)
    data.update({"images-TOTAL_FORMS": 1, "images-0-upload": upload_of(case), "images-0-position": 0})
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", data)
    assert response.status_code < 500
    if case.expected == REFUSED:
        assert response.status_code == 200  # the form again, with the reason on the upload field
        errors = response.context["inline_admin_formsets"][0].formset.errors[0]["upload"]
        assert case.reason.lower() in " ".join(errors).lower()
        assert not ProductImage.objects.exists()
        assert files_under(settings.MEDIA_ROOT) == []
    else:
        assert response.status_code == 302, response.context and response.context.get("errors")
        image = ProductImage.objects.get(product=product)
        assert (image.width, image.height) == case.size
        assert files_under(settings.MEDIA_ROOT) == [Path(image.image.path)]
