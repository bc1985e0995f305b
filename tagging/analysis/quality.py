"""Photo quality measured locally from pixels, at no model cost.

Five measures, each scored 0–10, combined by weights into one 0–10 score with the reasons
that pulled it down. Sharpness is measured on a fixed-size greyscale copy so the number
means the same for every upload size.
"""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

_MEASURE_SIDE = 512
# Variance of the Laplacian at 512 px: below ~15 looks soft, above ~120 crisp (product shots).
_SHARP_AT, _BLURRY_AT = 120.0, 15.0
_CLIPPED_LEVEL_HIGH, _CLIPPED_LEVEL_LOW = 250, 5
_MIN_GOOD_SIDE, _MIN_SIDE = 800, 300
_WEIGHTS = {"sharpness": 0.35, "exposure": 0.25, "background": 0.15, "resolution": 0.15, "aspect": 0.10}


@dataclass
class QualityReport:
    score: float
    sharpness: float
    highlights_clipped: float
    shadows_clipped: float
    border_deviation: float
    width: int
    height: int
    parts: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "score": round(self.score, 2),
            "sharpness": round(self.sharpness, 1),
            "highlights_clipped": round(self.highlights_clipped, 4),
            "shadows_clipped": round(self.shadows_clipped, 4),
            "border_deviation": round(self.border_deviation, 2),
            "width": self.width,
            "height": self.height,
            "parts": {name: round(value, 2) for name, value in self.parts.items()},
            "reasons": self.reasons,
        }


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: high for crisp edges, low for blur."""
    # Exact integer sums (int16 holds every value, -1020..1020): cheaper than float temporaries
    # and ndarray.var, and an integer product never wakes a multi-threaded BLAS in a worker.
    pixels = grey.astype(np.int16)
    laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4 * pixels[1:-1, 1:-1]
    values = laplacian.ravel().astype(np.int64)
    if not values.size:
        return 0.0
    mean = int(values.sum()) / values.size
    return float(max(0.0, int(values @ values) / values.size - mean * mean))


def measure_quality(image: Image.Image, *, original_size: tuple[int, int] | None = None) -> QualityReport:
    """Score ``image`` (RGB). ``original_size`` is the uploaded size, used for resolution and aspect."""
    width, height = original_size or image.size
    grey_image = image.convert("L")
    scale = _MEASURE_SIDE / max(grey_image.size)
    if scale < 1:
        grey_image = grey_image.resize(
            (max(1, round(grey_image.width * scale)), max(1, round(grey_image.height * scale))),
            Image.Resampling.BILINEAR,
        )
    grey = np.asarray(grey_image)
    sharpness = laplacian_variance(grey)
    # Clipping is counted in the central half, where the product is: a pure-white studio
    # backdrop around it is clipped on purpose and is not overexposure.
    rows, columns = grey.shape
    centre = grey[rows // 4 : rows - rows // 4, columns // 4 : columns - columns // 4]
    highlights = float((centre >= _CLIPPED_LEVEL_HIGH).mean())
    shadows = float((centre <= _CLIPPED_LEVEL_LOW).mean())
    border = border_deviation(image if image.mode == "RGB" else image.convert("RGB"))

    parts = {
        "sharpness": _ramp(np.log1p(sharpness), np.log1p(_BLURRY_AT), np.log1p(_SHARP_AT)),
        "exposure": 10 * (1 - min(1.0, max(0.0, highlights - 0.15) / 0.35 + max(0.0, shadows - 0.15) / 0.35)),
        "background": _ramp(-border, -40.0, -6.0),
        "resolution": _ramp(min(width, height), _MIN_SIDE, _MIN_GOOD_SIDE),
        "aspect": _ramp(-max(width, height) / max(1, min(width, height)), -3.0, -2.0),
    }
    # A blurred or blown-out photo is unusable however clean its background: the worse of
    # the two scales the weighted mean down to 40 % of itself.
    critical = min(parts["sharpness"], parts["exposure"]) / 10
    score = sum(parts[name] * weight for name, weight in _WEIGHTS.items()) * (0.4 + 0.6 * critical)
    reasons = []
    if parts["sharpness"] < 5:
        reasons.append("blurry")
    if highlights > 0.3:
        reasons.append("overexposed")
    if shadows > 0.3:
        reasons.append("underexposed")
    if parts["background"] < 4:
        reasons.append("busy background")
    if parts["resolution"] < 5:
        reasons.append("low resolution")
    if parts["aspect"] < 5:
        reasons.append("extreme aspect ratio")
    return QualityReport(
        score=round(float(score), 2),
        sharpness=sharpness,
        highlights_clipped=highlights,
        shadows_clipped=shadows,
        border_deviation=border,
        width=width,
        height=height,
        parts={name: float(value) for name, value in parts.items()},
        reasons=reasons,
    )


def border_deviation(rgb: Image.Image) -> float:
    """Mean per-channel standard deviation of a 4 % frame: near 0 for a clean backdrop."""
    # From the frame's histograms (C, a few thousand pixels) rather than a float copy of it:
    # the same population deviation at a tenth of the cost.
    width, height = rgb.size
    band = max(1, round(min(height, width) * 0.04))
    boxes = (
        (0, 0, width, band),
        (0, height - band, width, height),
        (0, 0, band, height),
        (width - band, 0, width, height),
    )
    counts = np.zeros(3 * 256, dtype=np.int64)
    for box in boxes:
        counts += rgb.crop(box).histogram()
    counts = counts.reshape(3, 256)
    levels = np.arange(256, dtype=np.int64)
    pixels = counts.sum(axis=1)
    means = (counts @ levels) / pixels
    variances = (counts @ (levels * levels)) / pixels - means * means
    return float(np.sqrt(np.maximum(variances, 0.0)).mean())


def _ramp(value: float, low: float, high: float) -> float:
    """0 at or below ``low``, 10 at or above ``high``, linear between."""
    if high == low:
        return 10.0
    return float(10 * min(1.0, max(0.0, (value - low) / (high - low))))
