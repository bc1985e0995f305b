"""Images are served without photo metadata (GPS position, camera serial, comments); staff keep the upload."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, PngImagePlugin

from catalog.services import add_product_image
from tests.factories import ProductFactory, image_bytes

pytestmark = pytest.mark.django_db

SERIAL = "CAMERA-SERIAL-0042"
GPS_IFD = 0x8825
ORIENTATION, BODY_SERIAL, MAKE = 0x0112, 0xA431, 0x010F


def exif_with_secrets(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "Leaky Cam"
    exif[BODY_SERIAL] = SERIAL
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return exif.tobytes()


def stored_bytes(field_file) -> bytes:
    with field_file.storage.open(field_file.name) as handle:
        return handle.read()


def upload(content: bytes):
    return add_product_image(product=ProductFactory(), upload=io.BytesIO(content))


def test_a_jpeg_is_served_without_gps_serial_or_comment_and_upright():
    content = image_bytes(size=(320, 240), exif=exif_with_secrets(orientation=6), comment=b"shot at home, 12 Elm St")
    image = upload(content)
    served = stored_bytes(image.image)
    assert SERIAL.encode() not in served and b"Elm St" not in served and b"Leaky Cam" not in served
    with Image.open(io.BytesIO(served)) as public:
        assert not public.getexif() and "comment" not in public.info
        assert {marker for marker, _ in public.applist} <= {"APP0", "APP2", "APP14"}
        assert public.size == (image.width, image.height) == (240, 320)  # turned upright, as recorded
    assert image.file_size == len(served)


def test_the_upload_is_kept_byte_for_byte_outside_the_media_root():
    content = image_bytes(exif=exif_with_secrets(), comment=b"private")
    image = upload(content)
    assert stored_bytes(image.original) == content
    original_path = Path(image.original.path).resolve()
    assert not original_path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_an_image_without_metadata_is_served_as_uploaded_and_kept_once():
    content = image_bytes()
    image = upload(content)
    assert stored_bytes(image.image) == content
    assert not image.original


def test_a_png_is_served_without_text_chunks_or_exif():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "shot at home, 12 Elm St")
    content = image_bytes(format="PNG", pnginfo=info, exif=exif_with_secrets())
    served = stored_bytes(upload(content).image)
    assert SERIAL.encode() not in served and b"Elm St" not in served
    with Image.open(io.BytesIO(served)) as public, Image.open(io.BytesIO(content)) as uploaded:
        assert "Comment" not in public.info and not public.getexif()
        assert list(public.convert("RGB").getdata()) == list(uploaded.convert("RGB").getdata())  # lossless


def test_a_webp_is_served_without_exif():
    content = image_bytes(format="WEBP", exif=exif_with_secrets())
    served = stored_bytes(upload(content).image)
    assert SERIAL.encode() not in served
    with Image.open(io.BytesIO(served)) as public:
        assert public.format == "WEBP" and not public.getexif()


def test_the_api_serves_the_copy_without_metadata(client):
    image = upload(image_bytes(exif=exif_with_secrets(), comment=b"private"))
    image.product.status = "active"
    image.product.save()
    url = client.get(f"/api/products/{image.product.sku}/").json()["images"][0]["url"]
    assert url.endswith(image.image.url)
    assert SERIAL.encode() not in stored_bytes(image.image)


def test_deleting_an_image_removes_its_kept_original_too(django_capture_on_commit_callbacks):
    image = upload(image_bytes(exif=exif_with_secrets()))
    original = Path(image.original.path)
    assert original.exists()
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert not original.exists()
