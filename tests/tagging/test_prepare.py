"""Preparing images for the model: orientation, size, format and odd pixel modes."""

import io

import numpy as np
from PIL import Image

from tagging.analysis.prepare import MAX_MODEL_IMAGE_SIDE, MIN_MODEL_IMAGE_SIDE, MODEL_IMAGE_SIDE, prepare_image


def _encoded(image: Image.Image, format: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **save)
    return buffer.getvalue()


def test_twelve_megapixel_jpeg_is_decoded_at_one_eighth_scale_and_sent_as_is():
    content = _encoded(Image.new("RGB", (4000, 3000), (120, 60, 30)), "JPEG", quality=92)

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (500, 375)
    assert (prepared.original_width, prepared.original_height) == (4000, 3000)
    assert prepared.size_bytes <= 200 * 1024
    assert Image.open(io.BytesIO(prepared.jpeg)).format == "JPEG"


def test_jpeg_takes_the_smallest_scale_whose_long_side_reaches_the_minimum():
    content = _encoded(Image.new("RGB", (3000, 1000), (10, 200, 30)), "JPEG")  # 1/8 would be 375 px

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (750, 250)


def test_jpeg_between_the_bounds_is_not_upscaled():
    content = _encoded(Image.new("RGB", (900, 600), (10, 200, 30)), "JPEG")

    prepared = prepare_image(content)

    assert MIN_MODEL_IMAGE_SIDE <= max(prepared.width, prepared.height) <= MODEL_IMAGE_SIDE
    assert (prepared.width, prepared.height) == (450, 300)


def test_jpeg_smaller_than_the_minimum_is_sent_at_its_own_size():
    content = _encoded(Image.new("RGB", (300, 200), (10, 200, 30)), "JPEG")

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (300, 200)


def test_jpeg_decode_above_the_maximum_is_resized_to_the_maximum():
    content = _encoded(Image.new("RGB", (4000, 3000), (120, 60, 30)), "JPEG")

    prepared = prepare_image(content, max_side=768, min_side=768)  # 1/4 scale decodes 1000 px

    assert (prepared.width, prepared.height) == (768, 576)


def test_png_still_fits_the_maximum():
    content = _encoded(Image.new("RGB", (2000, 1500), (10, 200, 30)), "PNG")

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (MODEL_IMAGE_SIDE, 576)


def test_no_side_above_1024_even_when_asked():
    content = _encoded(Image.new("RGB", (3000, 1000), (10, 200, 30)), "JPEG")

    prepared = prepare_image(content, max_side=4000, min_side=4000)

    assert max(prepared.width, prepared.height) == MAX_MODEL_IMAGE_SIDE


def test_exif_orientation_is_applied_after_the_draft_decode():
    image = Image.new("RGB", (4000, 2000), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 2000, 2000))  # white on the left half
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    content = _encoded(image, "JPEG", exif=exif)

    prepared = prepare_image(content)

    assert (prepared.width, prepared.height) == (250, 500)
    assert (prepared.original_width, prepared.original_height) == (2000, 4000)
    pixels = np.asarray(prepared.pixels)
    assert pixels[:240].mean() > 250 and pixels[260:].mean() < 5  # the white half is now on top


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


def _photo(size=(640, 480)) -> Image.Image:
    return Image.merge(
        "RGB", [Image.linear_gradient("L").resize(size), Image.effect_noise(size, 30), Image.new("L", size, 90)]
    )


def test_an_upright_metadata_free_jpeg_within_the_bounds_is_sent_as_uploaded():
    content = _encoded(_photo(), "JPEG", quality=85)

    prepared = prepare_image(content)

    assert prepared.jpeg == content
    assert (prepared.width, prepared.height) == (640, 480)
    assert prepared.pixels.size == (640, 480)


def test_exif_and_comments_never_reach_the_provider():
    exif = Image.Exif()
    exif[0x8825] = {2: (52.0, 31.0, 12.0)}  # GPSInfo: where the photo was taken
    exif[0x0110] = "Camera X100"
    with_exif = _encoded(_photo(), "JPEG", quality=85, exif=exif)
    with_comment = _encoded(_photo(), "JPEG", quality=85, comment=b"shot at 12 Example Street")

    for content in (with_exif, with_comment):
        prepared = prepare_image(content)
        assert prepared.jpeg != content
        with Image.open(io.BytesIO(prepared.jpeg)) as sent:
            assert not sent.getexif()
            assert "comment" not in sent.info
            assert all(marker == "APP0" for marker, _ in sent.applist)


def test_jpegs_larger_than_the_payload_ceiling_or_the_side_limit_are_re_encoded():
    heavy = _encoded(_photo(), "JPEG", quality=100, subsampling=0)  # over 200 KB of noise
    assert len(heavy) > 200_000
    wide = _encoded(_photo((900, 600)), "JPEG", quality=85)

    assert prepare_image(heavy).jpeg != heavy
    assert prepare_image(heavy).size_bytes <= 200_000
    assert prepare_image(wide).jpeg != wide
    assert prepare_image(_encoded(_photo(), "PNG")).jpeg[:2] == b"\xff\xd8"
