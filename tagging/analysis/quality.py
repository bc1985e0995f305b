"""Photo quality measured locally from pixels, at no model cost.

Five measures, each scored 0–10, combined by weights into one 0–10 score with the reasons
that pulled it down. Sharpness is measured on a copy at most 512 px across, so the number means
the same for every upload size.

Sharpness is how steep the photo's edges are *for their contrast*: at an edge, the change
from one pixel to the next divided by the contrast around it. A crisp edge changes within a
pixel or two (about 0.5); a Gaussian blur of σ px spreads it (about 0.4/σ). Unlike the
variance of the Laplacian, this does not depend on how much of the frame holds detail, so a
light, simple product on a plain backdrop is not mistaken for a blurred one.
"""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy.ndimage import maximum_filter, minimum_filter

_MEASURE_SIDE = 512
# Edge steepness (see above) at 512 px: 0.30 and more is crisp, 0.14 and less clearly blurred.
_SHARP_AT, _BLURRY_AT = 0.30, 0.14
_EDGE_BLOCK = 4  # px: contrast is read over a pixel's block and its neighbours (a 12 px window)
_MIN_EDGE_CONTRAST = 24  # grey levels: weaker edges (grain, JPEG noise, texture) are not measured
_MIN_EDGE_BLOCKS = 8
_CLIPPED_LEVEL_HIGH, _CLIPPED_LEVEL_LOW = 250, 5
# Mean level of the whole frame: a studio shot sits far above 110; below 50 it is underexposed.
_DARK_BELOW, _BRIGHT_ENOUGH_AT = 50.0, 110.0
_MIN_GOOD_SIDE, _MIN_SIDE, _TOO_SMALL = 800, 300, 200
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
    brightness: float | None = None  # mean grey level, 0–255 (None in reports older than it)
    parts: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "score": round(self.score, 2),
            "sharpness": round(self.sharpness, 3),
            "brightness": round(self.brightness, 1) if self.brightness is not None else None,
            "highlights_clipped": round(self.highlights_clipped, 4),
            "shadows_clipped": round(self.shadows_clipped, 4),
            "border_deviation": round(self.border_deviation, 2),
            "width": self.width,
            "height": self.height,
            "parts": {name: round(value, 2) for name, value in self.parts.items()},
            "reasons": self.reasons,
        }


def edge_sharpness(channel: np.ndarray) -> float:
    """How steep the edges of ``channel`` (2-D uint8) are for their contrast; 0 with no edge.

    Per 4×4 block: the largest step between a pixel's two neighbours, halved, over the range of
    levels in the block and the eight around it. The 95th percentile over the blocks whose
    range reaches _MIN_EDGE_CONTRAST: the steepest edges decide, a few noisy blocks do not.
    """
    block = _EDGE_BLOCK
    rows, columns = channel.shape[0] // block * block, channel.shape[1] // block * block
    if rows < 3 * block or columns < 3 * block:
        return 0.0
    levels = channel[:rows, :columns].astype(np.int16)
    step = np.zeros((rows, columns), dtype=np.int16)
    step[:, 1:-1] = np.abs(levels[:, 2:] - levels[:, :-2])
    np.maximum(step[1:-1, :], np.abs(levels[2:, :] - levels[:-2, :]), out=step[1:-1, :])
    steepest = _pooled(step, np.maximum)
    highest = maximum_filter(_pooled(levels, np.maximum), size=3, mode="nearest")
    lowest = minimum_filter(_pooled(levels, np.minimum), size=3, mode="nearest")
    contrast = highest - lowest
    edges = contrast >= _MIN_EDGE_CONTRAST
    if int(edges.sum()) < _MIN_EDGE_BLOCKS:
        return 0.0
    return float(np.percentile(steepest[edges] / (2.0 * contrast[edges]), 95))


def _pooled(values: np.ndarray, reduce) -> np.ndarray:
    """``reduce`` over each _EDGE_BLOCK × _EDGE_BLOCK block (strided slices: far cheaper than reshape reductions)."""
    block = _EDGE_BLOCK
    columns = values[:, 0::block]
    for offset in range(1, block):
        columns = reduce(columns, values[:, offset::block])
    pooled = columns[0::block]
    for offset in range(1, block):
        pooled = reduce(pooled, columns[offset::block])
    return pooled


def measure_quality(image: Image.Image, *, original_size: tuple[int, int] | None = None) -> QualityReport:
    """Score ``image`` (RGB). ``original_size`` is the uploaded size, used for resolution and aspect."""
    width, height = original_size or image.size
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    # Edges are measured in the colour channel that varies most: a grey mug on slate-blue
    # paper differs from it in blue far more than in brightness.
    channel = rgb.getchannel(_most_varied_channel(rgb))
    scale = _MEASURE_SIDE / max(channel.size)
    if scale < 1:
        size = (max(1, round(channel.width * scale)), max(1, round(channel.height * scale)))
        channel = channel.resize(size, Image.Resampling.BILINEAR)
    sharpness = edge_sharpness(np.asarray(channel))
    # Brightness and clipping are shares of the frame: measured at full size, no resize needed.
    grey = np.asarray(rgb.convert("L"))
    brightness = float(grey.mean())
    # Clipping is counted in the central half, where the product is: a pure-white studio
    # backdrop around it is clipped on purpose and is not overexposure.
    rows, columns = grey.shape
    centre = grey[rows // 4 : rows - rows // 4, columns // 4 : columns - columns // 4]
    highlights = float((centre >= _CLIPPED_LEVEL_HIGH).mean())
    shadows = float((centre <= _CLIPPED_LEVEL_LOW).mean())
    border = border_deviation(rgb)

    clipping = 10 * (1 - min(1.0, max(0.0, highlights - 0.15) / 0.35 + max(0.0, shadows - 0.15) / 0.35))
    lightness = _ramp(brightness, _DARK_BELOW, _BRIGHT_ENOUGH_AT)
    parts = {
        "sharpness": _ramp(sharpness, _BLURRY_AT, _SHARP_AT),
        "exposure": min(clipping, lightness),
        "background": _ramp(-border, -40.0, -6.0),
        "resolution": _ramp(min(width, height), _MIN_SIDE, _MIN_GOOD_SIDE),
        "aspect": _ramp(-max(width, height) / max(1, min(width, height)), -3.0, -2.0),
    }
    # A blurred, badly exposed or tiny photo is unusable however clean its background: the
    # worst of those scales the weighted mean down to 40 % of itself.
    critical = min(parts["sharpness"], parts["exposure"], _ramp(min(width, height), _TOO_SMALL, _MIN_SIDE)) / 10
    score = sum(parts[name] * weight for name, weight in _WEIGHTS.items()) * (0.4 + 0.6 * critical)
    # Most telling first: the first reason names the flag.
    reasons = []
    if shadows > 0.3 or lightness < 5:
        reasons.append("underexposed")
    if highlights > 0.3:
        reasons.append("overexposed")
    if parts["sharpness"] < 5:
        reasons.append("blurry")
    if parts["resolution"] < 5:
        reasons.append("low resolution")
    if parts["background"] < 4:
        reasons.append("busy background")
    if parts["aspect"] < 5:
        reasons.append("extreme aspect ratio")
    return QualityReport(
        score=round(float(score), 2),
        sharpness=sharpness,
        brightness=brightness,
        highlights_clipped=highlights,
        shadows_clipped=shadows,
        border_deviation=border,
        width=width,
        height=height,
        parts={name: float(value) for name, value in parts.items()},
        reasons=reasons,
    )


def _most_varied_channel(rgb: Image.Image) -> int:
    """The index of the RGB channel with the largest variance, from Pillow's histogram (cheap)."""
    counts = np.asarray(rgb.histogram(), dtype=np.int64).reshape(3, 256)
    levels = np.arange(256, dtype=np.int64)
    pixels = counts.sum(axis=1)
    means = (counts @ levels) / pixels
    return int(((counts @ (levels * levels)) / pixels - means * means).argmax())


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
