"""Validation of uploaded image bytes by their content, never by their name or MIME type."""

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from catalog.exceptions import ImageRejected

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Pillow warns at MAX_IMAGE_PIXELS and raises at twice that; we refuse at the warning.
MAX_PIXELS = 50_000_000
MIN_SIDE = 32
MAX_SIDE = 12_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
# What a served image may carry: JPEG's JFIF header, colour profile and Adobe colour-transform
# markers, and PNG/WebP keys that describe pixels. Anything else (EXIF with GPS position or
# camera serial, XMP, comments, text chunks) is metadata about the photo, not part of it.
_PIXEL_JPEG_MARKERS = {"APP0", "APP2", "APP14"}
_PIXEL_INFO_KEYS = {
    "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "adobe", "adobe_transform", "progressive",
    "progression", "icc_profile", "gamma", "transparency", "aspect", "srgb", "interlace", "chromaticity",
    "loop", "duration", "background", "blend", "disposal", "timestamp", "bbox", "default_image",
}  # fmt: skip
_PUBLIC_WEBP_QUALITY = 95
_ORIENTATIONS_THAT_SWAP_SIDES = {5, 6, 7, 8}


@dataclass(frozen=True)
class ValidatedImage:
    content: bytes
    sha256: str
    format: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.content)


def read_upload(upload: IO[bytes], *, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """Read at most ``limit`` bytes, refusing larger files without reading them whole."""
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ImageRejected(f"The file is larger than {limit // (1024 * 1024)} MB.")
    return content


def validate_image(content: bytes) -> ValidatedImage:
    """Check that ``content`` is a complete JPEG, PNG or WebP image of a sensible size.

    Width and height are reported as the image is meant to be seen, after EXIF orientation.
    Raises ImageRejected with a message meant for the person who uploaded the file.
    """
    if not content:
        raise ImageRejected("The file is empty.")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image_format = image.format
                if image_format not in ACCEPTED_FORMATS:
                    raise ImageRejected(
                        f"{image_format or 'This'} files are not accepted; upload a JPEG, PNG or WebP image."
                    )
                width, height = image.size
                _check_dimensions(width, height)
                if getattr(image, "n_frames", 1) > 1:
                    raise ImageRejected("Animated images are not accepted; upload a single still image.")
                orientation = image.getexif().get(ImageOps.ExifTags.Base.Orientation, 1)
                # load() decodes every byte, which is what finds truncated or corrupt data. A JPEG
                # still entropy-decodes all of its data at 1/8 scale (draft mode), so truncation
                # is found as surely, for a fraction of the cost of full-size pixels.
                if image_format == "JPEG":
                    image.draft(None, (1, 1))
                image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(
            f"The image has too many pixels (more than {MAX_PIXELS // 1_000_000} megapixels)."
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected("The file is not an image; upload a JPEG, PNG or WebP image.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRejected(f"The image is damaged or truncated ({error}).") from None
    if orientation in _ORIENTATIONS_THAT_SWAP_SIDES:
        width, height = height, width
    return ValidatedImage(
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        format=image_format,
        width=width,
        height=height,
    )


def _check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"The image has too many pixels (more than {MAX_PIXELS // 1_000_000} megapixels).")
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(f"The image is {width}×{height} pixels; each side must be at least {MIN_SIDE} pixels.")
    if max(width, height) > MAX_SIDE:
        raise ImageRejected(f"The image is {width}×{height} pixels; no side may exceed {MAX_SIDE} pixels.")


def public_copy(content: bytes) -> bytes:
    """``content`` as the storefront may serve it: the same picture without photo metadata.

    An image carrying only what describes its pixels is returned as it is. Otherwise it is
    re-encoded upright in its own format with its colour profile and nothing else: a JPEG with
    its own quantisation tables and subsampling (no visible loss), a PNG losslessly.
    """
    with Image.open(io.BytesIO(content)) as source:
        markers = {marker for marker, _ in getattr(source, "applist", [])}
        if markers <= _PIXEL_JPEG_MARKERS and set(source.info) <= _PIXEL_INFO_KEYS:
            return content
        image_format, icc_profile = source.format, source.info.get("icc_profile")
        options: dict = {"icc_profile": icc_profile} if icc_profile else {}
        if image_format == "JPEG":
            sampling = JpegImagePlugin.get_sampling(source)
            options.update(qtables=source.quantization, subsampling=sampling if sampling >= 0 else 2)
        elif image_format == "WEBP":
            options.update(quality=_PUBLIC_WEBP_QUALITY)
        elif "transparency" in source.info:
            options["transparency"] = source.info["transparency"]
        upright = ImageOps.exif_transpose(source)
        upright.info = {}  # encoders fall back on the source's info (a JPEG's comment, for one)
        buffer = io.BytesIO()
        upright.save(buffer, format=image_format, **options)
    return buffer.getvalue()
