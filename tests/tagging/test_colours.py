"""Naming the product's colour from its pixels: one colour staff can use, white included."""

import io

import pytest
from PIL import Image, ImageDraw

from catalog.demo import COLOURS, DARK, DemoProduct, draw_product_image
from tagging.analysis.colours import dominant_colours
from tagging.machine_tags import APPLY_MEDIUM_AT


def _shot(
    colour: str, kind: str = "tshirt", pattern: str = "solid", seed: int = 5, photo: str = "sharp"
) -> Image.Image:
    product = DemoProduct("X", "x", "", 1, "a", kind=kind, colour=colour, pattern=pattern, image_seed=seed, photo=photo)
    return Image.open(io.BytesIO(draw_product_image(product)))


def _on_paper(paper: tuple[int, int, int], *fills: tuple[tuple[int, int, int], tuple[int, int, int, int]]):
    image = Image.new("RGB", (480, 480), paper)
    draw = ImageDraw.Draw(image)
    for colour, box in fills:
        draw.rectangle(box, fill=colour)
    return image


@pytest.mark.parametrize("colour", sorted(COLOURS))
@pytest.mark.parametrize("kind", ["tshirt", "mug", "headphones"])
def test_each_demo_colour_is_named_alone_and_surely(colour, kind):
    found = dominant_colours(_shot(colour, kind=kind))

    assert [named.name for named in found] == [colour]
    assert found[0].confidence >= 0.9


@pytest.mark.parametrize("pattern", ["striped", "polka dot", "checked"])
@pytest.mark.parametrize("colour", ["red", "navy", "white", "yellow"])
def test_a_patterns_minor_colour_is_not_named(colour, pattern):
    found = dominant_colours(_shot(colour, pattern=pattern))

    assert [named.name for named in found] == [colour]
    assert found[0].confidence >= APPLY_MEDIUM_AT


def test_white_and_light_products_are_named():
    white_on_white = _on_paper((255, 255, 255), ((236, 236, 232), (120, 100, 360, 400)))
    white_on_grey = _on_paper((150, 155, 162), ((238, 238, 234), (120, 100, 360, 400)))
    cream_on_white = _on_paper((247, 247, 245), ((218, 200, 168), (120, 100, 360, 400)))
    pink_on_white = _on_paper((247, 247, 245), ((236, 150, 180), (120, 100, 360, 400)))

    assert [named.name for named in dominant_colours(white_on_white)] == ["white"]
    assert [named.name for named in dominant_colours(white_on_grey)] == ["white"]
    assert [named.name for named in dominant_colours(cream_on_white)] == ["beige"]
    assert [named.name for named in dominant_colours(pink_on_white)] == ["pink"]


def test_a_two_tone_product_gets_both_colours():
    navy_and_yellow = _on_paper(
        (226, 221, 214), ((24, 38, 92), (100, 100, 240, 400)), ((236, 200, 40), (240, 100, 380, 400))
    )

    assert sorted(named.name for named in dominant_colours(navy_and_yellow)) == ["navy", "yellow"]


def test_a_sweep_backdrop_lighter_at_the_top_is_not_a_colour():
    sweep = Image.linear_gradient("L").resize((480, 480)).point(lambda value: 250 - value // 12).convert("RGB")

    assert dominant_colours(sweep) == []


def test_blank_backdrop_has_no_colour():
    assert dominant_colours(Image.new("RGB", (400, 400), (250, 250, 250))) == []


def test_colours_read_from_an_underexposed_photo_wait_for_staff():
    found = dominant_colours(_shot("white", kind="mug", photo=DARK))

    assert found and all(named.confidence < APPLY_MEDIUM_AT for named in found)
