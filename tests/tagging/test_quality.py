"""Local photo quality: the metric orders sharp, blurred and over-exposed photos correctly."""

import io

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from catalog.demo import demo_products, draw_product_image
from tagging.analysis.quality import laplacian_variance, measure_quality


@pytest.fixture
def sharp_photo() -> Image.Image:
    product = next(iter(demo_products(3)))
    return Image.open(io.BytesIO(draw_product_image(product, size=900))).convert("RGB")


def test_sharp_photo_scores_above_its_blurred_copy(sharp_photo):
    sharp = measure_quality(sharp_photo)
    blurred = measure_quality(sharp_photo.filter(ImageFilter.GaussianBlur(6)))

    assert sharp.sharpness > 10 * blurred.sharpness
    assert sharp.score > blurred.score
    assert "blurry" in blurred.reasons and "blurry" not in sharp.reasons


def test_more_blur_scores_lower(sharp_photo):
    scores = [measure_quality(sharp_photo.filter(ImageFilter.GaussianBlur(radius))).score for radius in (0, 2, 6)]

    assert scores[0] > scores[1] > scores[2]


def test_overexposed_photo_scores_below_the_original(sharp_photo):
    overexposed = ImageEnhance.Brightness(sharp_photo).enhance(3.5)

    report = measure_quality(overexposed)

    assert report.highlights_clipped > 0.3
    assert "overexposed" in report.reasons
    assert report.score < measure_quality(sharp_photo).score


def test_busy_background_scores_lower_than_a_clean_backdrop(sharp_photo):
    import numpy as np

    noise = np.random.default_rng(3).integers(0, 255, (900, 900, 3), dtype=np.uint8)
    busy = Image.fromarray(noise)
    busy.paste(sharp_photo.crop((150, 150, 750, 750)), (150, 150))

    assert measure_quality(busy).parts["background"] < measure_quality(sharp_photo).parts["background"]
    assert "busy background" in measure_quality(busy).reasons


def test_small_and_extreme_aspect_images_lose_points(sharp_photo):
    small = measure_quality(sharp_photo, original_size=(200, 200))
    banner = measure_quality(sharp_photo, original_size=(4000, 800))

    assert "low resolution" in small.reasons
    assert "extreme aspect ratio" in banner.reasons


def test_laplacian_variance_is_zero_for_a_flat_image():
    import numpy as np

    assert laplacian_variance(np.full((50, 50), 128, dtype=np.uint8)) == 0


def test_laplacian_variance_is_the_variance_of_the_four_neighbour_laplacian():
    import numpy as np

    grey = np.random.default_rng(7).integers(0, 256, size=(60, 80), dtype=np.uint8)
    pixels = grey.astype(np.float64)
    laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4 * pixels[1:-1, 1:-1]

    assert laplacian_variance(grey) == pytest.approx(laplacian.var(), rel=1e-9)
    assert laplacian_variance(np.zeros((1, 40), dtype=np.uint8)) == 0


def test_border_deviation_is_the_mean_channel_deviation_of_a_four_percent_frame():
    import numpy as np

    from tagging.analysis.quality import border_deviation

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
