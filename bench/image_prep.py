"""Image preparation speed: draft-mode decode against the naive full decode.

    .venv/bin/python bench/image_prep.py [--runs 31]

Every path prepares the same 12 MP (4000×3000) JPEGs in the same run; the figures are
median and p95 milliseconds per image, and the payload each path would send. Paths:
``default`` = prepare_image with the shipped bounds (long side 384–768: 1/8-scale decode sent
as is), ``768 only`` = the same function forced to exactly 768 px (min = max = 768: 1/4-scale
decode, then reduce + resize; the previous default), ``naive`` = open → exif_transpose →
thumbnail(768) (full decode), the baseline. Each image's last line also times the 1/8-scale
decode alone, with nothing sent: the floor the default path stands on, since libjpeg still
Huffman-decodes the whole file at that scale.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from tagging.analysis.prepare import naive_prepare, prepare_image


def studio_photo(*, noise: float, seed: int = 1) -> bytes:
    """A product on a pale backdrop with soft shading, stripes and sensor noise, saved at q90."""
    random = np.random.default_rng(seed)
    image = Image.new("RGB", (4000, 3000), (245, 245, 242))
    draw = ImageDraw.Draw(image)
    draw.ellipse((900, 500, 3100, 2600), fill=(180, 40, 50))
    draw.rectangle((1500, 900, 2500, 2000), fill=(60, 90, 160))
    for x in range(0, 4000, 40):
        draw.line((x, 0, x + 800, 3000), fill=(170 + x % 60, 60, 60), width=6)
    image = image.filter(ImageFilter.GaussianBlur(3))
    pixels = np.asarray(image).astype(np.int16) + random.normal(0, noise, (3000, 4000, 3)).astype(np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def eighth_scale_decode(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as source:
        source.draft("RGB", (source.width // 8, source.height // 8))
        source.load()
        return source.size


def timed(function, content: bytes, runs: int) -> list[float]:
    function(content)  # warm-up: first call pays for imports and allocator growth
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function(content)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _payload(result) -> bytes:
    return result.jpeg if hasattr(result, "jpeg") else result


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    arguments = parser.parse_args()
    cases = {
        "studio shot, sensor noise σ=2": studio_photo(noise=2),
        "textured shot, sensor noise σ=6": studio_photo(noise=6),
    }
    print(f"{'image':34} {'path':9} {'median ms':>10} {'p95 ms':>8} {'payload KB':>11} {'sent':>9}")
    for label, content in cases.items():
        paths = {
            "default": prepare_image,
            "768 only": lambda data: prepare_image(data, max_side=768, min_side=768),
            "naive": naive_prepare,
        }
        results = {name: timed(function, content, arguments.runs) for name, function in paths.items()}
        payloads = {name: _payload(function(content)) for name, function in paths.items()}
        naive_median = statistics.median(results["naive"])
        for index, (name, samples) in enumerate(results.items()):
            sent = "×".join(map(str, Image.open(io.BytesIO(payloads[name])).size))
            print(
                f"{label if index == 0 else '':34} {name:9} {statistics.median(samples):10.1f} "
                f"{p95(samples):8.1f} {len(payloads[name]) / 1024:11.1f} {sent:>9}"
            )
        ratios = ", ".join(
            f"×{naive_median / statistics.median(results[name]):.1f} {name}" for name in ("default", "768 only")
        )
        print(f"{'':34} source {len(content) / 1e6:.1f} MB; speed-up against naive (medians): {ratios}")
        floor = statistics.median(timed(eighth_scale_decode, content, arguments.runs))
        default_median = statistics.median(results["default"])
        print(
            f"{'':34} 1/8-scale decode alone {floor:.1f} ms; "
            f"the default path spends {default_median - floor:.1f} ms above it"
        )


if __name__ == "__main__":
    main()
