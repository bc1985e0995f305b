"""A demo catalog drawn by the project itself: real JPEG product shots, no downloads.

Each product is a simple silhouette (t-shirt, mug, tote bag, sneaker, lamp, cushion, ...)
in a named colour and pattern on a studio-white background, so the local analyser has real
colours and quality to find and the admin has real thumbnails to show.
"""

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFilter

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 32, 40),
    "navy": (24, 38, 92),
    "green": (40, 140, 70),
    "yellow": (236, 200, 40),
    "black": (28, 28, 30),
    "white": (236, 236, 232),
    "brown": (120, 72, 40),
    "pink": (232, 130, 170),
    "grey": (128, 128, 132),
    "orange": (236, 120, 30),
    "purple": (110, 50, 140),
    "teal": (20, 130, 130),
    "beige": (214, 194, 160),
}
PATTERNS = ("solid", "striped", "polka dot", "checked")


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    title: str
    description: str
    price: Decimal
    category_path: str
    kind: str
    colour: str
    pattern: str
    image_seed: int


# kind → (category path, price range in dollars, noun, material words)
KINDS: dict[str, tuple[str, tuple[int, int], str, tuple[str, ...]]] = {
    "tshirt": ("Apparel/Tops/T-shirts", (12, 40), "T-shirt", ("cotton", "linen")),
    "dress": ("Apparel/Dresses", (30, 120), "dress", ("cotton", "silk", "batik")),
    "sneaker": ("Footwear/Sneakers", (45, 160), "sneaker", ("canvas", "leather")),
    "tote": ("Bags/Tote bags", (18, 90), "tote bag", ("canvas", "leather", "rattan")),
    "mug": ("Home/Kitchen/Mugs", (8, 30), "mug", ("ceramic",)),
    "lamp": ("Home/Lighting", (35, 180), "table lamp", ("metal", "rattan")),
    "cushion": ("Home/Textiles/Cushions", (15, 60), "cushion", ("cotton", "wool", "batik")),
    "headphones": ("Electronics/Audio", (40, 300), "headphones", ("plastic", "metal")),
    "jar": ("Food/Pantry", (5, 25), "jar of preserves", ("glass",)),
    "basket": ("Handmade crafts/Baskets", (20, 85), "woven basket", ("rattan", "bamboo")),
}


def demo_products(count: int, *, seed: int = 7) -> Iterator[DemoProduct]:
    """``count`` reproducible demo products; the same seed always gives the same catalog."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    for number in range(1, count + 1):
        kind = kinds[(number - 1) % len(kinds)]
        path, (low, high), noun, materials = KINDS[kind]
        colour = rng.choice(list(COLOURS))
        pattern = rng.choice(PATTERNS) if kind in {"tshirt", "dress", "tote", "cushion", "mug"} else "solid"
        material = rng.choice(materials)
        adjective = "" if pattern == "solid" else f"{pattern} "
        yield DemoProduct(
            sku=f"DEMO-{number:05d}",
            title=f"{colour.capitalize()} {adjective}{material} {noun}",
            description=f"A {colour} {adjective}{noun} made of {material}. Demo item number {number}.",
            price=Decimal(rng.randint(low * 100, high * 100)) / 100,
            category_path=path,
            kind=kind,
            colour=colour,
            pattern=pattern,
            image_seed=rng.randint(0, 2**31),
        )


def draw_product_image(product: DemoProduct, *, size: int = 640) -> bytes:
    """A JPEG product shot of ``product``: its silhouette, colour and pattern on white."""
    rng = random.Random(product.image_seed)
    canvas = Image.new("RGB", (size, size), (248, 248, 246))
    fill = Image.new("RGB", (size, size), COLOURS[product.colour])
    _apply_pattern(fill, product.pattern, COLOURS[product.colour])
    mask = Image.new("L", (size, size), 0)
    _draw_silhouette(ImageDraw.Draw(mask), product.kind, size, rng)
    shadow = mask.filter(ImageFilter.GaussianBlur(size // 40)).point(lambda value: value // 3)
    canvas.paste((200, 200, 198), (size // 60, size // 40), shadow)
    canvas.paste(fill, (0, 0), mask)
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def _apply_pattern(fill: Image.Image, pattern: str, colour: tuple[int, int, int]) -> None:
    draw = ImageDraw.Draw(fill)
    width, height = fill.size
    contrast = tuple(255 - channel if sum(colour) < 380 else channel // 3 for channel in colour)
    step = width // 16
    if pattern == "striped":
        for x in range(0, width, step * 2):
            draw.rectangle((x, 0, x + step - 1, height), fill=contrast)
    elif pattern == "polka dot":
        for y in range(step // 2, height, step * 2):
            for x in range(step // 2 + (y // step % 2) * step, width, step * 2):
                draw.ellipse((x, y, x + step // 2, y + step // 2), fill=contrast)
    elif pattern == "checked":
        for y in range(0, height, step):
            for x in range(0, width, step):
                if (x // step + y // step) % 2:
                    draw.rectangle((x, y, x + step - 1, y + step - 1), fill=contrast)


def _draw_silhouette(draw: ImageDraw.ImageDraw, kind: str, size: int, rng: random.Random) -> None:
    """Draw ``kind`` on a 20×20 grid scaled to ``size``, shifted a little so no two shots match."""
    unit = size / 20
    shift = rng.uniform(-0.4, 0.4)

    def poly(*grid: float) -> list[tuple[float, float]]:
        return [((grid[i] + shift) * unit, grid[i + 1] * unit) for i in range(0, len(grid), 2)]

    def box(left: float, top: float, right: float, bottom: float) -> tuple[float, float, float, float]:
        return ((left + shift) * unit, top * unit, (right + shift) * unit, bottom * unit)

    line = int(unit)
    if kind == "tshirt":
        draw.polygon(poly(6, 3, 8, 4, 12, 4, 14, 3, 18, 6, 16, 9, 14, 8, 14, 17, 6, 17, 6, 8, 4, 9, 2, 6), fill=255)
    elif kind == "dress":
        draw.polygon(poly(8, 2, 12, 2, 13, 7, 17, 18, 3, 18, 7, 7), fill=255)
    elif kind == "sneaker":
        draw.polygon(poly(2, 13, 3, 8, 8, 8, 12, 11, 17, 12, 18, 15, 2, 15), fill=255)
        draw.rectangle(box(2, 15, 18, 16.2), fill=255)
    elif kind == "tote":
        draw.rectangle(box(4, 7, 16, 18), fill=255)
        draw.arc(box(7, 2, 13, 10), 180, 360, fill=255, width=line)
    elif kind == "mug":
        draw.rounded_rectangle(box(4, 5, 13, 17), radius=unit, fill=255)
        draw.ellipse(box(11, 8, 17, 14), outline=255, width=line)
    elif kind == "lamp":
        draw.polygon(poly(6, 3, 14, 3, 16, 9, 4, 9), fill=255)
        draw.rectangle(box(9.4, 9, 10.6, 16), fill=255)
        draw.ellipse(box(6, 15.5, 14, 18), fill=255)
    elif kind == "cushion":
        draw.rounded_rectangle(box(3, 4, 17, 16), radius=2 * unit, fill=255)
    elif kind == "headphones":
        draw.arc(box(4, 3, 16, 15), 180, 360, fill=255, width=line)
        draw.rounded_rectangle(box(3, 9, 6, 15), radius=unit / 2, fill=255)
        draw.rounded_rectangle(box(14, 9, 17, 15), radius=unit / 2, fill=255)
    elif kind == "jar":
        draw.rounded_rectangle(box(5, 6, 15, 18), radius=unit, fill=255)
        draw.rectangle(box(6, 3.5, 14, 6), fill=255)
    elif kind == "basket":
        draw.polygon(poly(3, 8, 17, 8, 15, 17, 5, 17), fill=255)
        draw.arc(box(5, 2, 15, 14), 180, 360, fill=255, width=int(unit * 0.8))
    else:
        raise ValueError(f"No silhouette for {kind!r}.")
