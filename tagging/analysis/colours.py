"""Naming the dominant colours of the product in a photo, from its pixels.

The backdrop is found from the border (a studio photo's frame is backdrop) and dropped
with near-white pixels; the rest is matched to named reference colours in CIELAB, where
distance follows what people see. Names are the colour vocabulary's canonical names.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

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
_BACKDROP_DISTANCE = 12.0  # ΔE from the border colour below which a pixel is backdrop
_MIN_SHARE = 0.18


@dataclass(frozen=True)
class NamedColour:
    name: str
    share: float  # of the product's pixels
    distance: float  # mean ΔE to the named reference
    confidence: float


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (…, 3) uint8 → CIELAB (D65)."""
    values = rgb.astype(np.float64) / 255.0
    linear = np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92)
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_NAMES = [name for name, references in REFERENCE_COLOURS.items() for _ in references]
_REFERENCE_LAB = srgb_to_lab(np.array([ref for refs in REFERENCE_COLOURS.values() for ref in refs], dtype=np.uint8))


def dominant_colours(image: Image.Image, *, limit: int = 2) -> list[NamedColour]:
    """The product's main colours, most dominant first; [] when nothing stands out from the backdrop."""
    sample = image.convert("RGB")
    sample.thumbnail((_SAMPLE_SIDE, _SAMPLE_SIDE), Image.Resampling.BILINEAR)
    lab = srgb_to_lab(np.asarray(sample))
    band = max(1, min(lab.shape[:2]) // 20)
    border = np.concatenate(
        [
            lab[:band].reshape(-1, 3),
            lab[-band:].reshape(-1, 3),
            lab[:, :band].reshape(-1, 3),
            lab[:, -band:].reshape(-1, 3),
        ]
    )
    backdrop = np.median(border, axis=0)
    pixels = lab.reshape(-1, 3)
    is_backdrop = np.linalg.norm(pixels - backdrop, axis=1) < _BACKDROP_DISTANCE
    near_white = (pixels[:, 0] > 94) & (np.hypot(pixels[:, 1], pixels[:, 2]) < 6)
    product = pixels[~is_backdrop & ~near_white]
    if len(product) < 0.02 * len(pixels):
        return []
    distances = np.linalg.norm(product[:, None, :] - _REFERENCE_LAB[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    nearest_distance = distances[np.arange(len(product)), nearest]
    names = np.array(_NAMES)[nearest]
    found = []
    for name in dict.fromkeys(_NAMES):
        chosen = names == name
        share = float(chosen.mean())
        if share < _MIN_SHARE:
            continue
        distance = float(nearest_distance[chosen].mean())
        # Dominance and closeness to the named colour both make the name more certain.
        closeness = min(1.0, max(0.0, 1 - (distance - 8) / 40))
        confidence = round(min(0.97, (0.55 + 0.45 * share) * closeness), 3)
        found.append(NamedColour(name=name, share=share, distance=distance, confidence=confidence))
    return sorted(found, key=lambda colour: colour.share, reverse=True)[:limit]
