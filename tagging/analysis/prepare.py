"""Turning an uploaded image into what the vision model is sent: upright, small, plain JPEG.

The payload's long side lies between MIN_MODEL_IMAGE_SIDE and the configured maximum. Both
ends bill the same: providers that tile charge 258 tokens for an image up to 384 px and 258
per 768-px tile above it, so anything from 384 to 768 px on the long side is one tile.

Speed comes from not decoding pixels we would throw away. For a JPEG, libjpeg can decode at
1/2, 1/4 or 1/8 scale (draft mode); we ask for the smallest of those scales whose long side
still reaches the minimum and send that decode as it is when it also fits the maximum, so a
12-MP photo is decoded straight to 500×375 with no resample at all. Only the Huffman decode
of the whole file remains, and no scale can skip it. A decode larger than the maximum (and
every non-JPEG source) is block-averaged with ``Image.reduce`` and resampled to the maximum.
Orientation is applied last, on the small image.

An upload that already is what we would make (an upright RGB JPEG within the size bounds,
with no metadata beyond its JFIF header, no larger than SEND_AS_UPLOADED_MAX_BYTES) is sent as
uploaded: re-encoding it would spend CPU and lose a generation of quality for nothing. Any
EXIF (which may carry GPS coordinates or a camera serial) or comment means a re-encode,
which leaves them behind.
"""

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

# Gemini bills 258 tokens per 768×768 tile and 258 for an image within 384×384: 768 px on the
# long side is the most detail one tile buys, 384 px the least that still costs a whole tile.
# Above 1024 px is never sent.
MODEL_IMAGE_SIDE = 768
MIN_MODEL_IMAGE_SIDE = 384
MAX_MODEL_IMAGE_SIDE = 1024
_JPEG_SCALES = (8, 4, 2, 1)
JPEG_QUALITY = 82
SEND_AS_UPLOADED_MAX_BYTES = 200_000  # the payload ceiling: larger uploads are re-encoded smaller
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class PreparedImage:
    """The re-encoded JPEG plus the decoded RGB pixels (for local metrics, no second decode)."""

    jpeg: bytes
    width: int
    height: int
    original_width: int
    original_height: int
    pixels: Image.Image

    @property
    def size_bytes(self) -> int:
        return len(self.jpeg)


def prepare_image(
    content: bytes, *, max_side: int = MODEL_IMAGE_SIDE, min_side: int = MIN_MODEL_IMAGE_SIDE
) -> PreparedImage:
    """Decode ``content`` (JPEG, PNG or WebP), orient, and re-encode as JPEG.

    The long side sent is at most ``max_side`` (never above 1024) and, for a JPEG large
    enough, at least ``min_side``; smaller sources are never upscaled.
    """
    max_side = min(max_side, MAX_MODEL_IMAGE_SIDE)
    min_side = min(min_side, max_side)
    with Image.open(io.BytesIO(content)) as source:
        original_width, original_height = source.size
        if source.format == "JPEG" and source.mode in ("RGB", "L", "CMYK", "YCbCr"):
            source.draft("RGB", _draft_request(source.size, min_side))
        if max(source.size) <= max_side:
            target = source.size
        else:
            target = _fitted_size((original_width, original_height), max_side)
        orientation = source.getexif().get(ImageOps.ExifTags.Base.Orientation, 1)
        as_uploaded = _sendable_as_uploaded(source, content, target, (original_width, original_height))
        image = _shrink(_as_rgb(source), target)
    if orientation != 1:
        image = _oriented(image, orientation)
        if orientation in (5, 6, 7, 8):
            original_width, original_height = original_height, original_width
    if as_uploaded:
        jpeg = content
    else:
        buffer = io.BytesIO()
        # Pillow copies a source's COM comment into the output unless told otherwise.
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False, comment=b"")
        jpeg = buffer.getvalue()
    return PreparedImage(
        jpeg=jpeg,
        width=image.width,
        height=image.height,
        original_width=original_width,
        original_height=original_height,
        pixels=image,
    )


def naive_prepare(content: bytes, *, max_side: int = MODEL_IMAGE_SIDE) -> bytes:
    """The straightforward path, kept as the benchmark's baseline: full decode, then shrink."""
    with Image.open(io.BytesIO(content)) as source:
        image = ImageOps.exif_transpose(source).convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _sendable_as_uploaded(
    source: Image.Image, content: bytes, target: tuple[int, int], original: tuple[int, int]
) -> bool:
    """Whether ``content`` is already the payload: see the module's docstring."""
    return (
        source.format == "JPEG"
        and source.mode == "RGB"
        and source.size == original == target  # decoded whole, no resize
        and len(content) <= SEND_AS_UPLOADED_MAX_BYTES
        and all(marker == "APP0" for marker, _ in getattr(source, "applist", []))  # JFIF only: no EXIF, ICC, XMP
        and "comment" not in source.info
    )


def _draft_request(size: tuple[int, int], min_side: int) -> tuple[int, int]:
    """The size to ask draft mode for so that libjpeg picks the smallest DCT scale (1/8 first)
    whose decode still has a long side of at least ``min_side``."""
    width, height = size
    long_side = max(width, height)
    scale = next(scale for scale in _JPEG_SCALES if scale == 1 or math.ceil(long_side / scale) >= min_side)
    # Pillow takes the largest scale s with s <= min(width // w, height // h); w = width // scale
    # gives exactly ``scale`` (width // (width // s) lies in [s, 2s)).
    return max(1, width // scale), max(1, height // scale)


def _fitted_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _shrink(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    if image.size == target:
        return image
    factor = min(image.width // target[0], image.height // target[1])
    if factor >= 2:
        image = image.reduce(factor)
    if image.size != target:
        image = image.resize(target, Image.Resampling.BILINEAR)
    return image


def _oriented(image: Image.Image, orientation: int) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return image.transpose(method) if method is not None else image


def _as_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels: transparency flattened on white, CMYK converted, 16-bit scaled down (not clipped)."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        grey = np.clip(array * (255.0 / peak), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode == "RGB":
        image.load()
        return image
    return image.convert("RGB")
