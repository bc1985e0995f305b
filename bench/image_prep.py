"""Image preparation speed: draft-mode decode + reduce against the naive full decode.

    .venv/bin/python bench/image_prep.py [--runs 31]

Both paths prepare the same 12 MP (4000×3000) JPEGs in the same run; the figures are
median and p95 milliseconds per image, and the payload each path would send.
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


def timed(function, content: bytes, runs: int) -> tuple[list[float], int]:
    function(content)  # warm-up: first call pays for imports and allocator growth
    samples, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        result = function(content)
        samples.append((time.perf_counter() - started) * 1000)
        size = len(result.jpeg if hasattr(result, "jpeg") else result)
    return samples, size


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
    print(f"{'image':34} {'path':8} {'median ms':>10} {'p95 ms':>8} {'payload KB':>11}")
    for label, content in cases.items():
        fast, fast_size = timed(prepare_image, content, arguments.runs)
        small, small_size = timed(lambda data: prepare_image(data, max_side=384), content, arguments.runs)
        naive, naive_size = timed(naive_prepare, content, arguments.runs)
        prepared = prepare_image(content)
        print(f"{label:34} {'draft':8} {statistics.median(fast):10.1f} {p95(fast):8.1f} {fast_size / 1024:11.1f}")
        print(f"{'':34} {'draft384':8} {statistics.median(small):10.1f} {p95(small):8.1f} {small_size / 1024:11.1f}")
        print(f"{'':34} {'naive':8} {statistics.median(naive):10.1f} {p95(naive):8.1f} {naive_size / 1024:11.1f}")
        ratio = statistics.median(naive) / statistics.median(fast)
        ratio_small = statistics.median(naive) / statistics.median(small)
        print(
            f"{'':34} source {len(content) / 1e6:.1f} MB, sent {prepared.width}×{prepared.height}, "
            f"speed-up ×{ratio:.1f} at 768 px, ×{ratio_small:.1f} at 384 px (medians)"
        )


if __name__ == "__main__":
    main()
