"""A demo catalog drawn by the project itself: real JPEG product shots, no downloads.

Each product is a simple silhouette (t-shirt, mug, tote bag, sneaker, lamp, cushion, ...)
in a named colour and pattern, lit from one side, standing on a studio backdrop with a floor
shadow. The backdrop is chosen to stand apart from the product, as a photographer would
(white products on grey, dark ones on light paper). A few shots are out of focus and a few
underexposed, so the quality flags the analyser raises on the demo are ones staff would
agree with. Titles and descriptions read like a shop's: they name the material, the pattern
and often a style or season, which is what the local analyser reads from text.
"""

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
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
# Studio backdrops: seamless paper in a few tones. Each product gets one it stands apart from.
BACKDROPS: dict[str, tuple[int, int, int]] = {
    "white paper": (246, 246, 243),
    "warm grey": (224, 219, 212),
    "cool grey": (208, 212, 218),
    "sand": (230, 216, 192),
    "slate": (142, 148, 158),
}
_MIN_BACKDROP_CONTRAST = 90  # RGB distance between product and backdrop colours
# How the shot came out: most are sharp; every 30th (from the 7th) out of focus, every 40th
# (from the 13th) underexposed.
SHARP, BLURRED, DARK = "sharp", "blurred", "dark"


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
    photo: str = SHARP


@dataclass(frozen=True)
class Kind:
    category_path: str
    prices: tuple[int, int]  # dollars
    noun: str
    materials: tuple[str, ...]
    styles: tuple[str, ...]  # words a shop would use for it (vocabulary styles or their synonyms)
    seasons: tuple[str, ...]
    patterned: bool


KINDS: dict[str, Kind] = {
    "tshirt": Kind(
        "Apparel/Tops/T-shirts",
        (12, 40),
        "T-shirt",
        ("cotton", "linen", "organic cotton"),
        ("casual", "sporty", "streetwear", "minimalist"),
        ("summer", "spring"),
        True,
    ),
    "dress": Kind(
        "Apparel/Dresses",
        (30, 120),
        "dress",
        ("cotton", "silk", "batik"),
        ("formal", "boho", "vintage", "casual"),
        ("summer", "spring", "autumn"),
        True,
    ),
    "sneaker": Kind(
        "Footwear/Sneakers",
        (45, 160),
        "sneaker",
        ("canvas", "leather", "suede"),
        ("sporty", "casual", "streetwear", "retro"),
        ("spring", "autumn"),
        False,
    ),
    "tote": Kind(
        "Bags/Tote bags",
        (18, 90),
        "tote bag",
        ("canvas", "leather", "rattan"),
        ("minimalist", "casual", "handmade"),
        ("summer",),
        True,
    ),
    "mug": Kind(
        "Home/Kitchen/Mugs",
        (8, 30),
        "mug",
        ("ceramic", "stoneware", "porcelain"),
        ("minimalist", "rustic", "handmade"),
        ("winter",),
        True,
    ),
    "lamp": Kind(
        "Home/Lighting",
        (35, 180),
        "table lamp",
        ("metal", "rattan", "brass"),
        ("industrial", "modern", "vintage", "scandinavian"),
        ("winter", "autumn"),
        False,
    ),
    "cushion": Kind(
        "Home/Textiles/Cushions",
        (15, 60),
        "cushion",
        ("cotton", "wool", "batik", "linen"),
        ("bohemian", "rustic", "ethnic", "modern"),
        ("autumn", "winter"),
        True,
    ),
    "headphones": Kind(
        "Electronics/Audio",
        (40, 300),
        "headphones",
        ("plastic", "metal", "aluminium"),
        ("modern", "sporty", "minimalist"),
        (),
        False,
    ),
    "jar": Kind(
        "Food/Pantry",
        (5, 25),
        "jar of preserves",
        ("glass",),
        ("rustic", "handmade", "traditional"),
        ("autumn", "summer"),
        False,
    ),
    "basket": Kind(
        "Handmade crafts/Baskets",
        (20, 85),
        "woven basket",
        ("rattan", "bamboo", "wicker"),
        ("handcrafted", "rustic", "bohemian"),
        ("summer", "spring"),
        False,
    ),
}
_SEASON_PHRASES = {
    "summer": "made for warm summer days",
    "spring": "light enough for spring",
    "autumn": "a warm note for autumn",
    "winter": "cosy through the winter months",
}
_DETAILS: dict[str, tuple[str, ...]] = {
    "tshirt": ("Crew neck, short sleeves, a regular fit", "Pre-washed so it keeps its shape"),
    "dress": ("Knee length with a tie waist", "Fully lined, with hidden side pockets"),
    "sneaker": ("Cushioned insole and a grippy rubber sole", "Lace-up, with a padded collar"),
    "tote": ("Roomy, with an inner zip pocket", "Long handles that sit on the shoulder"),
    "mug": ("Holds 350 ml and is dishwasher safe", "Glazed inside, with a comfortable handle"),
    "lamp": ("Takes an E27 bulb; the cord is 1.8 m long", "A warm pool of light for a bedside or desk"),
    "cushion": ("45 × 45 cm, with a zipped cover and a feather insert", "The cover comes off for washing"),
    "headphones": ("Over-ear, foldable, with 30 hours of battery", "Closed back, with a detachable cord"),
    "jar": ("Small-batch fruit preserves, 340 g", "Made with whole fruit and no added pectin"),
    "basket": ("Woven by hand, with two carrying handles", "Sturdy enough for laundry or firewood"),
}


def photo_for(number: int) -> str:
    """How demo product ``number``'s shot came out (see SHARP, BLURRED, DARK)."""
    if number % 30 == 7:
        return BLURRED
    if number % 40 == 13:
        return DARK
    return SHARP


def demo_products(count: int, *, seed: int = 7) -> Iterator[DemoProduct]:
    """``count`` reproducible demo products; the same seed always gives the same catalog."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    for number in range(1, count + 1):
        kind_name = kinds[(number - 1) % len(kinds)]
        kind = KINDS[kind_name]
        colour = rng.choice(list(COLOURS))
        pattern = rng.choice(PATTERNS) if kind.patterned else "solid"
        material = rng.choice(kind.materials)
        style = rng.choice(kind.styles)
        season = rng.choice(kind.seasons) if kind.seasons and rng.random() < 0.6 else ""
        low, high = kind.prices
        adjective = "" if pattern == "solid" else f"{pattern} "
        opening = f"{style.capitalize()} {adjective}{kind.noun} in {colour} {material}"
        if season:
            opening += f", {_SEASON_PHRASES[season]}"
        yield DemoProduct(
            sku=f"DEMO-{number:05d}",
            title=f"{colour.capitalize()} {adjective}{material} {kind.noun}",
            description=f"{opening}. {rng.choice(_DETAILS[kind_name])}. Demo item number {number}.",
            price=Decimal(rng.randint(low * 100, high * 100)) / 100,
            category_path=kind.category_path,
            kind=kind_name,
            colour=colour,
            pattern=pattern,
            image_seed=rng.randint(0, 2**31),
            photo=photo_for(number),
        )


def draw_product_image(product: DemoProduct, *, size: int = 640) -> bytes:
    """A JPEG product shot of ``product``: its silhouette, colour and pattern on a studio backdrop."""
    rng = random.Random(product.image_seed)
    colour = COLOURS[product.colour]
    backdrop = _backdrop_for(colour, rng)
    canvas = _backdrop_image(backdrop, size, rng)
    mask = Image.new("L", (size * 2, size * 2), 0)
    _draw_silhouette(ImageDraw.Draw(mask), product.kind, size * 2, rng)
    # Drawn at twice the size and reduced: edges antialiased like a lens's, not jagged.
    mask = mask.resize((size, size), Image.Resampling.LANCZOS)
    _floor_shadow(canvas, mask, size)
    fill = Image.new("RGB", (size, size), colour)
    _apply_pattern(fill, product.pattern, colour)
    canvas.paste(_lit_from_the_left(fill), (0, 0), mask)
    if product.photo == BLURRED:
        canvas = canvas.filter(ImageFilter.GaussianBlur(size / 640 * rng.uniform(4.0, 6.0)))
    elif product.photo == DARK:
        canvas = canvas.point(lambda value: round(255 * (value / 255) ** 1.8 * 0.22))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def _backdrop_for(colour: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    distant = [
        tone
        for tone in BACKDROPS.values()
        if sum((a - b) ** 2 for a, b in zip(tone, colour, strict=True)) ** 0.5 >= _MIN_BACKDROP_CONTRAST
    ]
    return rng.choice(distant)


def _backdrop_image(tone: tuple[int, int, int], size: int, rng: random.Random) -> Image.Image:
    """Seamless paper: a little lighter at the top than at the floor, with a trace of grain."""
    light = np.linspace(1.03, 0.95, size, dtype=np.float32)[:, None, None]
    grain = np.random.default_rng(rng.randint(0, 2**31)).standard_normal((size, size, 1), dtype=np.float32) * 1.2
    pixels = np.asarray(tone, dtype=np.float32)[None, None, :] * light + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _floor_shadow(canvas: Image.Image, mask: Image.Image, size: int) -> None:
    """A soft shadow cast down and to the right of the product."""
    shadow = mask.filter(ImageFilter.GaussianBlur(size // 40)).point(lambda value: value * 2 // 5)
    darker = canvas.point(lambda value: value * 3 // 4)
    canvas.paste(darker, (size // 60, size // 40), shadow)


def _lit_from_the_left(fill: Image.Image) -> Image.Image:
    """Shade the fill a little from left to right, as a key light beside the camera would."""
    width = fill.width
    light = np.linspace(1.05, 0.93, width)[None, :, None]
    pixels = np.asarray(fill, dtype=np.float64) * light
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _apply_pattern(fill: Image.Image, pattern: str, colour: tuple[int, int, int]) -> None:
    """A pattern's second colour covers at most about a third of the product, as on real goods:
    the base colour is the product's colour."""
    draw = ImageDraw.Draw(fill)
    width, height = fill.size
    luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    contrast = (242, 242, 238) if luminance < 150 else (34, 40, 70)
    step = width // 16
    if pattern == "striped":
        for x in range(0, width, step * 2):
            draw.rectangle((x, 0, x + step // 2 - 1, height), fill=contrast)
    elif pattern == "polka dot":
        for y in range(step // 2, height, step * 2):
            for x in range(step // 2 + (y // step % 2) * step, width, step * 2):
                draw.ellipse((x, y, x + step // 2, y + step // 2), fill=contrast)
    elif pattern == "checked":
        line = max(1, step // 6)
        for offset in range(0, max(width, height), step):
            draw.rectangle((offset, 0, offset + line - 1, height), fill=contrast)
            draw.rectangle((0, offset, width, offset + line - 1), fill=contrast)


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
