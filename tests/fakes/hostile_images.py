"""A generated corpus of hostile and awkward upload files, each with the outcome it must get.

Every case is made here from code (no binary fixtures): truncated and corrupt JPEG/PNG/WebP,
empty files, decompression bombs, 30,000-pixel strips, documents renamed as images, CMYK and
16-bit images, animated GIF/WebP/PNG, EXIF-rotated photos. ``ACCEPTED`` cases are real images
Shelfsight must take (and be able to prepare for the model); ``REFUSED`` cases must be turned
away with a message for a person, never a server error.

    python -m tests.fakes.hostile_images DIR   # writes the corpus to DIR for manual tries
"""

import io
import random
import struct
import sys
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image

ACCEPTED = "accepted"
REFUSED = "refused"


@dataclass(frozen=True)
class HostileFile:
    name: str  # unique, used as the test id
    filename: str  # what the upload claims to be
    content: bytes
    expected: str  # ACCEPTED or REFUSED
    # For refused files, a fragment the message must contain; for accepted, (width, height).
    reason: str = ""
    size: tuple[int, int] | None = None

    @property
    def content_type(self) -> str:
        suffix = self.filename.rsplit(".", 1)[-1].lower()
        return {"png": "image/png", "webp": "image/webp", "gif": "image/gif"}.get(suffix, "image/jpeg")


def _photo(size=(320, 240), mode="RGB", seed=0) -> Image.Image:
    """A small non-flat picture: gradient plus noise, so encoders produce real entropy-coded data."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40 + seed % 20)
    colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    image = Image.merge("RGB", (base, noise, Image.new("L", size, colour[2])))
    return image.convert(mode) if mode != "RGB" else image


def _encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_claiming(width: int, height: int, *, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A PNG whose header claims ``width``×``height`` but carries one tiny compressed block."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 frame header is rewritten to claim another size."""
    data = bytearray(_encode(_photo((64, 64)), "JPEG", quality=80))
    marker = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, marker + 5, height, width)
    return bytes(data)


def _webp_vp8l_claiming(width: int, height: int) -> bytes:
    """A lossless WebP whose VP8L header claims another size (max 16384 a side)."""
    data = bytearray(_encode(_photo((64, 64)), "WEBP", lossless=True))
    offset = data.index(b"VP8L") + 8 + 1  # chunk header, then the signature byte 0x2f
    bits = struct.unpack_from("<I", data, offset)[0]
    bits = (bits & ~0x0FFFFFFF) | ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14)
    struct.pack_into("<I", data, offset, bits)
    return bytes(data)


def _with_exif_orientation(orientation: int, size=(400, 200)) -> bytes:
    image = _photo(size, seed=orientation)
    exif = image.getexif()
    exif[0x0112] = orientation
    return _encode(image, "JPEG", exif=exif, quality=85)


def _flip_bytes(data: bytes, *, start: int, count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    corrupted = bytearray(data)
    for _ in range(count):
        position = rng.randrange(start, len(data) - 2)
        corrupted[position] ^= 0xFF
    return bytes(corrupted)


def _truncated_cases() -> list[HostileFile]:
    cases = []
    sources = {
        "jpeg": ("photo.jpg", _encode(_photo((480, 360), seed=1), "JPEG", quality=90)),
        "progressive-jpeg": ("photo.jpg", _encode(_photo((480, 360), seed=2), "JPEG", progressive=True)),
        "png": ("photo.png", _encode(_photo((300, 200), seed=3), "PNG")),
        "webp": ("photo.webp", _encode(_photo((300, 200), seed=4), "WEBP", quality=80)),
        "lossless-webp": ("photo.webp", _encode(_photo((300, 200), seed=5), "WEBP", lossless=True)),
    }
    fractions = (0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97)
    for label, (filename, content) in sources.items():
        for fraction in fractions:
            cut = max(8, int(len(content) * fraction))
            cases.append(
                HostileFile(f"truncated-{label}-{int(fraction * 100)}pct", filename, content[:cut], REFUSED, "")
            )
        # Only the headers: the file stops right where the pixel data would begin.
        cases.append(HostileFile(f"truncated-{label}-header-only", filename, content[:40], REFUSED, ""))
    return cases


def _corrupt_cases() -> list[HostileFile]:
    cases = []
    png = _encode(_photo((300, 200), seed=6), "PNG")
    for seed in range(8):
        # Damage inside the compressed pixel stream: zlib notices, so the file must be refused.
        idat = png.index(b"IDAT") + 4
        cases.append(
            HostileFile(
                f"corrupt-png-idat-{seed}", "photo.png", _flip_bytes(png, start=idat + 2, count=12, seed=seed), REFUSED
            )
        )
    bad_crc = bytearray(png)
    bad_crc[png.index(b"IHDR") + 17] ^= 0xFF
    cases.append(HostileFile("corrupt-png-header-checksum", "photo.png", bytes(bad_crc), REFUSED))
    cases.append(HostileFile("corrupt-png-signature", "photo.png", b"\x89PNX" + png[4:], REFUSED, "not an image"))
    webp = _encode(_photo((300, 200), seed=7), "WEBP", quality=80)
    # Damage to the VP8 frame's start code (9d 01 2a), which libwebp checks before decoding.
    start_code = webp.index(b"\x9d\x01\x2a")
    for offset in range(3):
        for value in (0x00, 0xFF):
            data = bytearray(webp)
            data[start_code + offset] = value
            cases.append(
                HostileFile(f"corrupt-webp-start-code-{offset}-{value:02x}", "photo.webp", bytes(data), REFUSED)
            )
    lossless = _encode(_photo((300, 200), seed=7), "WEBP", lossless=True)
    signature = lossless.index(b"VP8L") + 8
    for value in (0x00, 0x2E):
        data = bytearray(lossless)
        data[signature] = value
        cases.append(HostileFile(f"corrupt-webp-lossless-signature-{value:02x}", "photo.webp", bytes(data), REFUSED))
    cases.append(HostileFile("corrupt-webp-riff-tag", "photo.webp", b"RIFX" + webp[4:], REFUSED, "not an image"))
    jpeg = _encode(_photo((320, 240), seed=8), "JPEG", quality=90)
    cases.append(
        HostileFile("corrupt-jpeg-no-start-marker", "photo.jpg", b"\x00\x00" + jpeg[2:], REFUSED, "not an image")
    )
    sof = jpeg.index(b"\xff\xc0")
    for label, patch in {"zero-width": (0, 240), "zero-height": (320, 0)}.items():
        data = bytearray(jpeg)
        struct.pack_into(">HH", data, sof + 5, patch[1], patch[0])
        cases.append(HostileFile(f"corrupt-jpeg-{label}", "photo.jpg", bytes(data), REFUSED))
    # Random garbage in a JPEG's Huffman tables makes the entropy decoder fail outright.
    dht = jpeg.index(b"\xff\xc4")
    for seed in range(4):
        data = bytearray(jpeg)
        for offset in range(dht + 5, dht + 21):
            data[offset] = 0xFF
        data[dht + 21 + seed] = 0xFE
        cases.append(HostileFile(f"corrupt-jpeg-huffman-table-{seed}", "photo.jpg", bytes(data), REFUSED))
    for seed in range(6):
        cases.append(
            HostileFile(
                f"random-bytes-{seed}",
                "photo.jpg",
                random.Random(seed).randbytes(2048 + seed * 997),
                REFUSED,
                "not an image",
            )
        )
    return cases


def _empty_and_tiny_cases() -> list[HostileFile]:
    cases = [
        HostileFile("zero-bytes-jpg", "photo.jpg", b"", REFUSED, "empty"),
        HostileFile("zero-bytes-png", "photo.png", b"", REFUSED, "empty"),
        HostileFile("zero-bytes-webp", "photo.webp", b"", REFUSED, "empty"),
        HostileFile("one-byte", "photo.jpg", b"\xff", REFUSED, "not an image"),
        HostileFile("jpeg-magic-only", "photo.jpg", b"\xff\xd8\xff", REFUSED),
        HostileFile("png-magic-only", "photo.png", b"\x89PNG\r\n\x1a\n", REFUSED),
    ]
    for side in (1, 2, 16, 31):
        for image_format, suffix in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")):
            cases.append(
                HostileFile(
                    f"tiny-{side}px-{suffix}",
                    f"photo.{suffix}",
                    _encode(_photo((side, side)), image_format),
                    REFUSED,
                    "at least 32 pixels",
                )
            )
    cases.append(
        HostileFile(
            "oversized-21mb",
            "photo.jpg",
            b"\xff\xd8\xff\xe0" + b"\x00" * (21 * 1024 * 1024),
            REFUSED,
            "larger than 20 MB",
        )
    )
    return cases


def _bomb_cases() -> list[HostileFile]:
    cases = []
    for width, height in ((30_000, 30_000), (65_535, 65_535), (10_000, 10_000), (8_000, 7_000), (100_000, 1_000)):
        for colour_type, label in ((0, "grey"), (2, "rgb"), (6, "rgba")):
            cases.append(
                HostileFile(
                    f"bomb-png-header-{width}x{height}-{label}",
                    "photo.png",
                    _png_claiming(width, height, colour_type=colour_type),
                    REFUSED,
                )
            )
    for width, height in ((60_000, 60_000), (12_000, 12_000), (20_000, 5_000)):
        cases.append(
            HostileFile(f"bomb-jpeg-header-{width}x{height}", "photo.jpg", _jpeg_claiming(width, height), REFUSED)
        )
    for width, height in ((16_384, 16_384), (16_000, 4_000)):
        cases.append(
            HostileFile(f"bomb-webp-header-{width}x{height}", "photo.webp", _webp_vp8l_claiming(width, height), REFUSED)
        )
    # A real, fully valid PNG: 64 megapixels of one colour compress to a few tens of kilobytes.
    real_bomb = _encode(Image.new("L", (8_000, 8_000), 0), "PNG", optimize=False, compress_level=9)
    cases.append(HostileFile("bomb-png-real-64-megapixels", "photo.png", real_bomb, REFUSED, "too many pixels"))
    return cases


def _strip_cases() -> list[HostileFile]:
    cases = []
    for height in (1, 32, 64, 200):
        cases.append(HostileFile(f"strip-png-30000x{height}", "strip.png", _png_claiming(30_000, height), REFUSED))
        cases.append(HostileFile(f"strip-png-{height}x30000", "strip.png", _png_claiming(height, 30_000), REFUSED))
    for height in (32, 100):
        real = _encode(Image.new("RGB", (30_000, height), (120, 80, 40)), "PNG")
        cases.append(HostileFile(f"strip-png-real-30000x{height}", "strip.png", real, REFUSED, "no side may exceed"))
        jpeg = _encode(Image.new("RGB", (30_000, height), (40, 80, 120)), "JPEG", quality=70)
        cases.append(HostileFile(f"strip-jpeg-real-30000x{height}", "strip.jpg", jpeg, REFUSED, "no side may exceed"))
    cases.append(HostileFile("strip-jpeg-header-30000x48", "strip.jpg", _jpeg_claiming(30_000, 48), REFUSED))
    cases.append(HostileFile("strip-webp-header-16000x40", "strip.webp", _webp_vp8l_claiming(16_000, 40), REFUSED))
    return cases


def _document_cases() -> list[HostileFile]:
    documents = {
        "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">'
        b'<script>alert(1)</script><rect width="400" height="400" fill="red"/></svg>',
        "svg-no-prolog": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>',
        "html": b"<!DOCTYPE html><html><body><script>document.cookie</script>"
        b"<img src=x onerror=alert(1)></body></html>",
        "pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n",
        "zip": b"PK\x03\x04" + b"\x00" * 200,
        "php": b"<?php system($_GET['c']); ?>",
        "json": b'{"image": "not really"}',
        "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 120,
    }
    cases = []
    for label, content in documents.items():
        for suffix in ("jpg", "png", "webp"):
            cases.append(
                HostileFile(f"document-{label}-as-{suffix}", f"photo.{suffix}", content, REFUSED, "not an image")
            )
    photo = _photo((200, 200), seed=9)
    for image_format, suffix in (("BMP", "jpg"), ("TIFF", "png"), ("GIF", "webp"), ("ICO", "png"), ("PPM", "jpg")):
        cases.append(
            HostileFile(
                f"other-format-{image_format.lower()}-as-{suffix}",
                f"photo.{suffix}",
                _encode(photo, image_format),
                REFUSED,
                "JPEG, PNG or WebP",
            )
        )
    return cases


def _colour_mode_cases() -> list[HostileFile]:
    cases = []
    photo = _photo((300, 200), seed=10)
    cmyk = photo.convert("CMYK")
    cases.append(HostileFile("cmyk-jpeg", "photo.jpg", _encode(cmyk, "JPEG", quality=90), ACCEPTED, size=(300, 200)))
    cases.append(
        HostileFile(
            "cmyk-jpeg-progressive", "photo.jpg", _encode(cmyk, "JPEG", progressive=True), ACCEPTED, size=(300, 200)
        )
    )
    grey16 = Image.linear_gradient("L").resize((256, 128)).convert("I").point(lambda value: value * 257)
    cases.append(
        HostileFile("grey-16bit-png", "photo.png", _encode(grey16.convert("I;16"), "PNG"), ACCEPTED, size=(256, 128))
    )
    cases.append(
        HostileFile("grey-16bit-tiff-as-png", "photo.png", _encode(grey16, "TIFF"), REFUSED, "JPEG, PNG or WebP")
    )
    # A 48-bit RGB PNG written by hand: Pillow reads it, reduced to 8 bits a channel.
    rows = b"".join(b"\x00" + bytes(range(96)) * 8 for _ in range(64))
    rgb48 = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 128, 64, 16, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )
    cases.append(HostileFile("rgb-48bit-png", "photo.png", rgb48, ACCEPTED, size=(128, 64)))
    modes = {"L": "PNG", "LA": "PNG", "RGBA": "PNG", "P": "PNG", "1": "PNG", "I;16": "PNG"}
    for mode, image_format in modes.items():
        image = photo.convert(mode) if mode != "I;16" else grey16.convert("I;16")
        label = mode.lower().replace(";", "")
        cases.append(
            HostileFile(f"mode-{label}-png", "photo.png", _encode(image, image_format), ACCEPTED, size=image.size)
        )
    palette = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    cases.append(
        HostileFile("palette-with-transparency-png", "photo.png", _encode(palette, "PNG"), ACCEPTED, size=(300, 200))
    )
    cases.append(
        HostileFile("greyscale-jpeg", "photo.jpg", _encode(photo.convert("L"), "JPEG"), ACCEPTED, size=(300, 200))
    )
    cases.append(
        HostileFile("rgba-webp", "photo.webp", _encode(photo.convert("RGBA"), "WEBP"), ACCEPTED, size=(300, 200))
    )
    cases.append(
        HostileFile(
            "rgba-lossless-webp",
            "photo.webp",
            _encode(photo.convert("RGBA"), "WEBP", lossless=True),
            ACCEPTED,
            size=(300, 200),
        )
    )
    cases.append(HostileFile("interlaced-png", "photo.png", _interlaced_png(), ACCEPTED, size=(64, 48)))
    cases.append(HostileFile("jpeg-named-png", "photo.png", _encode(photo, "JPEG"), ACCEPTED, size=(300, 200)))
    cases.append(HostileFile("png-named-webp", "photo.webp", _encode(photo, "PNG"), ACCEPTED, size=(300, 200)))
    cases.append(
        HostileFile(
            "jpeg-with-trailing-html",
            "photo.jpg",
            _encode(photo, "JPEG") + b"<html>hi</html>",
            ACCEPTED,
            size=(300, 200),
        )
    )
    cases.append(
        HostileFile("minimum-32px-jpeg", "photo.jpg", _encode(_photo((32, 32)), "JPEG"), ACCEPTED, size=(32, 32))
    )
    cases.append(
        HostileFile(
            "large-12mp-jpeg",
            "photo.jpg",
            _encode(_photo((4000, 3000)), "JPEG", quality=85),
            ACCEPTED,
            size=(4000, 3000),
        )
    )
    cases.append(
        HostileFile("wide-12000-jpeg", "photo.jpg", _encode(_photo((12_000, 40)), "JPEG"), ACCEPTED, size=(12_000, 40))
    )
    return cases


def _interlaced_png() -> bytes:
    """An Adam7-interlaced PNG (Pillow cannot write them, so it is built by hand)."""
    width, height = 64, 48
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    raw = b""
    for x0, y0, dx, dy in passes:
        columns = len(range(x0, width, dx))
        for _ in range(y0, height, dy):
            raw += b"\x00" + bytes((index * 7) % 256 for index in range(columns))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def _animated_cases() -> list[HostileFile]:
    frames = [_photo((120, 90), seed=seed) for seed in range(3)]
    cases = []
    for image_format, suffix, reason in (
        ("GIF", "gif", "JPEG, PNG or WebP"),
        ("WEBP", "webp", "Animated"),
        ("PNG", "png", "Animated"),
    ):
        for count in (2, 3):
            content = _encode(
                frames[0], image_format, save_all=True, append_images=frames[1:count], duration=100, loop=0
            )
            cases.append(HostileFile(f"animated-{suffix}-{count}-frames", f"anim.{suffix}", content, REFUSED, reason))
    for suffix in ("jpg", "png"):
        content = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
        cases.append(HostileFile(f"animated-gif-as-{suffix}", f"anim.{suffix}", content, REFUSED, "JPEG, PNG or WebP"))
    return cases


def _exif_cases() -> list[HostileFile]:
    cases = []
    for orientation in range(1, 9):
        swapped = orientation in {5, 6, 7, 8}
        cases.append(
            HostileFile(
                f"exif-orientation-{orientation}",
                "photo.jpg",
                _with_exif_orientation(orientation),
                ACCEPTED,
                size=(200, 400) if swapped else (400, 200),
            )
        )
    for orientation in (0, 9, 255):
        cases.append(
            HostileFile(
                f"exif-orientation-invalid-{orientation}",
                "photo.jpg",
                _with_exif_orientation(orientation),
                ACCEPTED,
                size=(400, 200),
            )
        )
    # A JPEG whose EXIF segment is garbage: the pixels are fine, the metadata is not.
    jpeg = _encode(_photo((300, 200), seed=11), "JPEG")
    garbage_exif = b"\xff\xe1" + struct.pack(">H", 2 + 6 + 32) + b"Exif\x00\x00" + b"MM\x00\x2a" + b"\xff" * 28
    cases.append(
        HostileFile("exif-garbage-segment", "photo.jpg", jpeg[:2] + garbage_exif + jpeg[2:], ACCEPTED, size=(300, 200))
    )
    exif_webp = _photo((300, 200), seed=12)
    exif = exif_webp.getexif()
    exif[0x0112] = 6
    cases.append(
        HostileFile(
            "exif-orientation-6-webp", "photo.webp", _encode(exif_webp, "WEBP", exif=exif), ACCEPTED, size=(200, 300)
        )
    )
    cases.append(
        HostileFile(
            "exif-orientation-8-png", "photo.png", _encode(exif_webp, "PNG", exif=_exif(8)), ACCEPTED, size=(200, 300)
        )
    )
    return cases


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@cache
def hostile_corpus() -> tuple[HostileFile, ...]:
    """Every case, built once per process (about 2 seconds)."""
    cases = [
        *_truncated_cases(),
        *_corrupt_cases(),
        *_empty_and_tiny_cases(),
        *_bomb_cases(),
        *_strip_cases(),
        *_document_cases(),
        *_colour_mode_cases(),
        *_animated_cases(),
        *_exif_cases(),
    ]
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "hostile case names must be unique"
    return tuple(cases)


def corpus_names() -> list[str]:
    return [case.name for case in hostile_corpus()]


def case_named(name: str) -> HostileFile:
    return next(case for case in hostile_corpus() if case.name == name)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    target.mkdir(parents=True, exist_ok=True)
    for case in hostile_corpus():
        (target / f"{case.name}--{case.filename}").write_bytes(case.content)
    print(f"{len(hostile_corpus())} files written to {target}")
