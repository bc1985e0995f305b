"""Naming the colour of the product in a photo, from its pixels.

The backdrop is learnt from the frame, row by row (a studio photo's frame is backdrop, and
seamless paper is lighter at the top than at the floor); what differs from it is the
product, whatever its colour, white included. Product pixels are matched to named reference
colours in CIELAB, where distance follows what people see. Names are the colour
vocabulary's canonical names.

One colour is named: the product's dominant one. A second is named only when it covers a
large part of the product (a two-tone piece), never for a stripe's, dot's or check's minor
colour, which staff would reject.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import median_filter

REFERENCE_COLOURS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": ((200, 30, 40), (220, 20, 60), (178, 34, 34)),
    "burgundy": ((128, 0, 32), (110, 20, 40)),
    "pink": ((232, 130, 170), (255, 182, 193), (220, 60, 140)),
    "orange": ((236, 120, 30), (255, 140, 0), (230, 100, 60)),
    "yellow": ((236, 200, 40), (255, 220, 80), (250, 240, 120)),
    "gold": ((212, 175, 55),),
    "green": ((40, 140, 70), (34, 139, 34), (100, 180, 80)),
    "olive": ((128, 128, 0), (110, 110, 50)),
    "mint": ((152, 220, 180),),
    "teal": ((20, 130, 130), (0, 128, 128), (64, 200, 200)),
    "blue": ((30, 90, 200), (65, 105, 225), (100, 150, 230)),
    "navy": ((24, 38, 92), (0, 0, 128), (20, 30, 70)),
    "purple": ((110, 50, 140), (150, 100, 200), (90, 40, 110)),
    "brown": ((120, 72, 40), (139, 69, 19), (160, 110, 70)),
    "beige": ((214, 194, 160), (230, 215, 185), (200, 180, 140)),
    "black": ((28, 28, 30), (10, 10, 10), (45, 45, 50)),
    "grey": ((128, 128, 132), (90, 90, 95), (170, 170, 172)),
    "silver": ((192, 192, 196),),
    "white": ((236, 236, 232), (250, 250, 250)),
}
_SAMPLE_SIDE = 160
_MIN_BACKDROP_DISTANCE = 5.0  # ΔE from the backdrop below which a pixel is backdrop, at least
_MIN_PRODUCT_SHARE = 0.02  # of the frame: less, and nothing stands out from the backdrop
# A second colour is named when it covers this much of the product (a pattern's minor colour
# stays below it) and sits this close (mean ΔE) to its named reference: the blend at the
# edges of a blurred pattern is neither.
_SECOND_COLOUR_SHARE, _SECOND_COLOUR_DISTANCE = 0.40, 12.0
# A backdrop darker than this L* means an underexposed photo (studio paper is light): what
# colour the product is cannot be told, so the names found are made less certain.
_DARK_BACKDROP, _IN_THE_DARK = 35.0, 0.7


@dataclass(frozen=True)
class NamedColour:
    name: str
    share: float  # of the product's pixels
    distance: float  # mean ΔE to the named reference
    confidence: float


_LEVELS = np.arange(256) / 255.0
_LINEAR = np.where(_LEVELS > 0.04045, ((_LEVELS + 0.055) / 1.055) ** 2.4, _LEVELS / 12.92)  # per 8-bit level


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (…, 3) uint8 → CIELAB (D65)."""
    linear = _LINEAR[rgb]
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_NAMES = list(REFERENCE_COLOURS)
_NAME_OF_REFERENCE = np.repeat(np.arange(len(_NAMES)), [len(references) for references in REFERENCE_COLOURS.values()])
_REFERENCE_LAB = srgb_to_lab(np.array([ref for refs in REFERENCE_COLOURS.values() for ref in refs], dtype=np.uint8))
_REFERENCE_SQUARED = (_REFERENCE_LAB * _REFERENCE_LAB).sum(axis=1)[None, :]


def product_pixels(image: Image.Image) -> tuple[np.ndarray, int, float]:
    """(the CIELAB values (N, 3) of the pixels that are not backdrop, how many pixels were
    looked at, the backdrop's lightness L*), on a small copy of ``image``."""
    sample = image.convert("RGB")
    sample.thumbnail((_SAMPLE_SIDE, _SAMPLE_SIDE), Image.Resampling.BILINEAR)
    lab = srgb_to_lab(np.asarray(sample))
    band = max(1, min(lab.shape[:2]) // 20)
    overall = np.median(_frame(lab, band), axis=0)
    # Each row's backdrop from its two side bands, so a lit-from-above sweep stays backdrop; a
    # row whose sides stray far from the frame as a whole (the product touches both edges)
    # falls back to the frame's colour.
    rows = np.median(np.concatenate([lab[:, :band], lab[:, -band:]], axis=1), axis=1)
    rows = median_filter(rows, size=(9, 1), mode="nearest")
    straying = np.linalg.norm(rows - overall, axis=1) > 4 * _MIN_BACKDROP_DISTANCE
    rows[straying] = overall
    distance = np.linalg.norm(lab - rows[:, None, :], axis=2)
    # A grainy or unevenly lit backdrop widens what counts as backdrop.
    threshold = max(_MIN_BACKDROP_DISTANCE, 1.5 * float(np.percentile(_frame(distance, band), 95)))
    return lab[distance > threshold], distance.size, float(overall[0])


def _frame(values: np.ndarray, band: int) -> np.ndarray:
    """The values of a ``band``-pixel frame around (h, w, …) ``values``, one row per pixel."""
    tail = values.shape[2:]
    sides = (values[:band], values[-band:], values[:, :band], values[:, -band:])
    return np.concatenate([side.reshape(-1, *tail) for side in sides])


def dominant_colours(image: Image.Image) -> list[NamedColour]:
    """The product's colour, and a second one only when it covers much of the product; most
    dominant first. [] when nothing stands out from the backdrop."""
    product, looked_at, backdrop_lightness = product_pixels(image)
    if len(product) < _MIN_PRODUCT_SHARE * looked_at:
        return []
    # |p − r|² = |p|² − 2 p·r + |r|²: one matrix product instead of an (N, refs, 3) temporary.
    squared = (product * product).sum(axis=1)[:, None] - 2 * product @ _REFERENCE_LAB.T + _REFERENCE_SQUARED
    nearest = squared.argmin(axis=1)
    nearest_distance = np.sqrt(np.maximum(squared[np.arange(len(product)), nearest], 0.0))
    named = _NAME_OF_REFERENCE[nearest]
    counts = np.bincount(named, minlength=len(_NAMES))
    distance_sums = np.bincount(named, weights=nearest_distance, minlength=len(_NAMES))
    found = []
    for index in np.flatnonzero(counts):
        share = float(counts[index] / len(product))
        distance = float(distance_sums[index] / counts[index])
        # Dominance and closeness to the named colour both make the name more certain.
        closeness = min(1.0, max(0.0, 1 - (distance - 8) / 40))
        confidence = min(0.97, (0.55 + 0.45 * share) * closeness)
        if backdrop_lightness < _DARK_BACKDROP:
            confidence *= _IN_THE_DARK  # colours of an underexposed photo are guesses: staff decide
        confidence = round(confidence, 3)
        found.append(NamedColour(name=_NAMES[index], share=share, distance=distance, confidence=confidence))
    found.sort(key=lambda colour: colour.share, reverse=True)
    second = [
        colour
        for colour in found[1:2]
        if colour.share >= _SECOND_COLOUR_SHARE and colour.distance <= _SECOND_COLOUR_DISTANCE
    ]
    return found[:1] + second
