import io
import struct
import zlib

import pytest
from PIL import Image

from catalog.exceptions import ImageRejected
from catalog.images import MAX_UPLOAD_BYTES, validate_image
from tests.factories import image_bytes


def png_of_size(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width``×``height`` with one tiny compressed scanline block."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


def test_jpeg_png_and_webp_are_accepted_with_their_size_and_format():
    for image_format in ("JPEG", "PNG", "WEBP"):
        validated = validate_image(image_bytes(size=(300, 200), format=image_format))
        assert (validated.format, validated.width, validated.height) == (image_format, 300, 200)
        assert len(validated.sha256) == 64


def test_truncated_jpeg_is_refused_as_damaged():
    content = image_bytes(size=(400, 300))
    with pytest.raises(ImageRejected, match="damaged or truncated"):
        validate_image(content[: len(content) // 2])


def test_text_file_named_jpg_is_refused_as_not_an_image():
    with pytest.raises(ImageRejected, match="not an image"):
        validate_image(b"hello, this is not a photo\n" * 10)


def test_one_pixel_image_is_refused_as_too_small():
    with pytest.raises(ImageRejected, match="at least 32 pixels"):
        validate_image(image_bytes(size=(1, 1), format="PNG"))


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageRejected, match="too many pixels"):
        validate_image(png_of_size(30_000, 30_000))


def test_file_over_twenty_megabytes_is_refused():
    with pytest.raises(ImageRejected, match="larger than 20 MB"):
        validate_image(b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES)


def test_gif_is_refused_with_the_accepted_formats_named():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, format="GIF")
    with pytest.raises(ImageRejected, match="JPEG, PNG or WebP"):
        validate_image(buffer.getvalue())


def test_exif_rotated_image_reports_its_upright_size():
    image = Image.new("RGB", (400, 200), "blue")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    validated = validate_image(buffer.getvalue())
    assert (validated.width, validated.height) == (200, 400)
