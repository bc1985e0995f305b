"""Local photo quality: a corpus of sharp, blurred, dark, over-exposed and small photos, each
with the verdict staff would give it, and the measures behind the score."""

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from catalog.demo import KINDS, DemoProduct, draw_product_image
from tagging.analysis.quality import border_deviation, edge_sharpness, measure_quality
from tagging.services import QUALITY_FLAG_BELOW as FLAG_BELOW


def _shot(kind: str, colour: str, pattern: str = "solid", seed: int = 3, size: int = 640) -> Image.Image:
    product = DemoProduct("Q", "q", "", 1, "a", kind=kind, colour=colour, pattern=pattern, image_seed=seed)
    return Image.open(io.BytesIO(draw_product_image(product, size=size))).convert("RGB")


def _line_drawing_on_pale_paper() -> Image.Image:
    """A light, simple product on a near-white backdrop: little detail, all of it crisp."""
    image = Image.new("RGB", (800, 800), (248, 248, 246))
    ImageDraw.Draw(image).rounded_rectangle((250, 220, 550, 600), radius=30, fill=(236, 226, 200))
    return image


def _verdict(image: Image.Image, **kwargs) -> str:
    report = measure_quality(image, **kwargs)
    if report.score >= FLAG_BELOW:
        return "fine"
    return report.reasons[0] if report.reasons else "low quality"


SHARP = [
    ("white t-shirt", lambda: _shot("tshirt", "white")),
    ("beige cushion", lambda: _shot("cushion", "beige")),
    ("yellow lamp", lambda: _shot("lamp", "yellow")),
    ("pink headphones", lambda: _shot("headphones", "pink")),
    ("grey mug", lambda: _shot("mug", "grey")),
    ("orange headphones", lambda: _shot("headphones", "orange")),
    ("navy striped tote", lambda: _shot("tote", "navy", "striped")),
    ("black sneaker", lambda: _shot("sneaker", "black")),
    ("large upload", lambda: _shot("dress", "teal", size=1600)),
    ("light drawing on pale paper", _line_drawing_on_pale_paper),
]
CORPUS = [
    *((f"sharp {name}", make, "fine") for name, make in SHARP),
    ("blurred dress", lambda: _shot("dress", "red").filter(ImageFilter.GaussianBlur(4)), "blurry"),
    ("blurred white t-shirt", lambda: _shot("tshirt", "white").filter(ImageFilter.GaussianBlur(5)), "blurry"),
    ("blurred pale drawing", lambda: _line_drawing_on_pale_paper().filter(ImageFilter.GaussianBlur(6)), "blurry"),
    ("dark basket", lambda: ImageEnhance.Brightness(_shot("basket", "brown")).enhance(0.2), "underexposed"),
    ("dark white mug", lambda: ImageEnhance.Brightness(_shot("mug", "white")).enhance(0.15), "underexposed"),
    ("over-exposed beige mug", lambda: ImageEnhance.Brightness(_shot("mug", "beige")).enhance(2.5), "overexposed"),
    (
        "over-exposed pink cushion",
        lambda: ImageEnhance.Brightness(_shot("cushion", "pink")).enhance(3.5),
        "overexposed",
    ),
    ("small sharp jar", lambda: _shot("jar", "green", size=160), "low resolution"),
]


@pytest.mark.parametrize(("name", "make", "expected"), CORPUS, ids=[name for name, _, _ in CORPUS])
def test_each_photo_of_the_corpus_gets_the_verdict_staff_would_give(name, make, expected):
    assert _verdict(make()) == expected


def test_every_kind_of_demo_product_on_its_backdrop_is_sharp():
    verdicts = {kind: _verdict(_shot(kind, colour)) for kind in KINDS for colour in ("white", "beige", "yellow")}

    assert set(verdicts.values()) == {"fine"}


def test_more_blur_scores_lower():
    photo = _shot("tshirt", "green")
    scores = [measure_quality(photo.filter(ImageFilter.GaussianBlur(radius))).score for radius in (0, 2, 6)]

    assert scores[0] > scores[1] > scores[2]


def test_sharpness_follows_the_blur_not_how_much_of_the_frame_has_detail():
    busy = _shot("cushion", "navy", "checked")
    sparse = _line_drawing_on_pale_paper()

    sharp = [measure_quality(image).sharpness for image in (busy, sparse)]
    blurred = [measure_quality(image.filter(ImageFilter.GaussianBlur(4))).sharpness for image in (busy, sparse)]

    assert min(sharp) > 2 * max(blurred)
    assert sharp[0] == pytest.approx(sharp[1], rel=0.35)


def test_edge_sharpness_of_a_crisp_step_is_one_half_and_of_a_flat_image_zero():
    step = np.zeros((64, 64), dtype=np.uint8)
    step[:, 32:] = 200

    assert edge_sharpness(step) == pytest.approx(0.5)
    assert edge_sharpness(np.full((64, 64), 128, dtype=np.uint8)) == 0


def test_edge_sharpness_ignores_grain_weaker_than_an_edge():
    grain = np.random.default_rng(5).integers(120, 136, size=(128, 128), dtype=np.uint8)

    assert edge_sharpness(grain) == 0


def test_a_white_studio_backdrop_is_not_overexposure():
    photo = _shot("mug", "navy")
    pixels = np.asarray(photo).copy()
    backdrop = np.all(pixels > 200, axis=2)
    pixels[backdrop] = 255  # blown-out backdrop, product untouched

    report = measure_quality(Image.fromarray(pixels))

    assert "overexposed" not in report.reasons and report.score >= FLAG_BELOW


def test_busy_background_scores_lower_than_a_clean_backdrop():
    photo = _shot("tshirt", "red", size=900)
    noise = np.random.default_rng(3).integers(0, 255, (900, 900, 3), dtype=np.uint8)
    busy = Image.fromarray(noise)
    busy.paste(photo.crop((150, 150, 750, 750)), (150, 150))

    assert measure_quality(busy).parts["background"] < measure_quality(photo).parts["background"]
    assert "busy background" in measure_quality(busy).reasons


def test_small_and_extreme_aspect_images_lose_points():
    photo = _shot("tshirt", "red")
    small = measure_quality(photo, original_size=(200, 200))
    banner = measure_quality(photo, original_size=(4000, 800))

    assert "low resolution" in small.reasons
    assert "extreme aspect ratio" in banner.reasons


def test_border_deviation_is_the_mean_channel_deviation_of_a_four_percent_frame():
    rgb = np.random.default_rng(3).integers(0, 256, size=(100, 150, 3), dtype=np.uint8)
    rgb[4:-4, 4:-4] = 255  # the product: not part of the frame
    band = 4
    frame = np.concatenate(
        [
            rgb[:band].reshape(-1, 3),
            rgb[-band:].reshape(-1, 3),
            rgb[:, :band].reshape(-1, 3),
            rgb[:, -band:].reshape(-1, 3),
        ]
    ).astype(np.float64)

    assert border_deviation(Image.fromarray(rgb)) == pytest.approx(frame.std(axis=0).mean(), rel=1e-9)
    assert border_deviation(Image.new("RGB", (100, 150), (250, 250, 250))) == 0


def test_the_report_round_trips_what_staff_see():
    report = measure_quality(_shot("lamp", "teal"))

    data = report.as_json()

    assert data["score"] == round(report.score, 2) and data["brightness"] == round(report.brightness, 1)
    assert replace(report, brightness=None).as_json()["brightness"] is None
