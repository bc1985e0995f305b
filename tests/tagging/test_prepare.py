"""Preparing images for the model: orientation, size, format and odd pixel modes."""

import io

import numpy as np
from PIL import Image

from tagging.analysis.prepare import MAX_MODEL_IMAGE_SIDE, prepare_image


def _encoded(image: Image.Image, format: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **save)
    return buffer.getvalue()


def test_large_jpeg_is_shrunk_to_the_model_side_and_stays_small():
    content = _encoded(Image.new("RGB", (4000, 3000), (120, 60, 30)), "JPEG", quality=92)

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (768, 576)
    assert (prepared.original_width, prepared.original_height) == (4000, 3000)
    assert prepared.size_bytes <= 200 * 1024
    assert Image.open(io.BytesIO(prepared.jpeg)).format == "JPEG"


def test_no_side_above_1024_even_when_asked():
    content = _encoded(Image.new("RGB", (3000, 1000), (10, 200, 30)), "JPEG")

    prepared = prepare_image(content, max_side=4000)

    assert max(prepared.width, prepared.height) == MAX_MODEL_IMAGE_SIDE


def test_exif_orientation_is_applied_after_the_draft_decode():
    image = Image.new("RGB", (4000, 2000), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 2000, 2000))  # white on the left half
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    content = _encoded(image, "JPEG", exif=exif)

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (384, 768)
    assert (prepared.original_width, prepared.original_height) == (2000, 4000)
    pixels = np.asarray(prepared.pixels)
    assert pixels[:300].mean() > 250 and pixels[470:].mean() < 5  # the white half is now on top


def test_transparent_png_is_flattened_on_white():
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (100, 100, 200, 200))

    prepared = prepare_image(_encoded(image, "PNG"))

    pixels = np.asarray(prepared.pixels)
    assert pixels[10, 10].tolist() == [255, 255, 255]
    assert pixels[150, 150, 0] > 180 and pixels[150, 150, 1] < 40


def test_webp_with_alpha_is_flattened_on_white():
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image.paste((0, 0, 200, 255), (100, 100, 200, 200))

    prepared = prepare_image(_encoded(image, "WEBP", lossless=True))

    assert np.asarray(prepared.pixels)[5, 5].tolist() == [255, 255, 255]


def test_cmyk_jpeg_becomes_rgb():
    content = _encoded(Image.new("CMYK", (500, 400), (0, 255, 255, 0)), "JPEG")

    prepared = prepare_image(content)

    assert prepared.pixels.mode == "RGB"
    red, green, blue = np.asarray(prepared.pixels)[200, 250].tolist()
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.uint16), (64, 1))
    image = Image.fromarray(ramp)

    prepared = prepare_image(_encoded(image, "PNG"))

    row = np.asarray(prepared.pixels)[32, :, 0].astype(int)
    assert row[0] < 10 and row[-1] > 245
    assert 100 < row[128] < 156  # mid-grey stays mid-grey instead of saturating to white
