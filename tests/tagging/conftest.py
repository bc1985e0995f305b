"""Shared pieces of the tagging tests: a product with an image, and model answers."""

import json

import pytest

from catalog.services import add_product_image
from tests.factories import ProductFactory, image_upload

ATTRIBUTE_ORDER = ("c", "co", "m", "s", "p", "se")  # category, colour, material, style, pattern, season


def full_answer(**overrides) -> dict:
    """A well-formed full analysis in the compact answer format; override attributes by short name."""
    values = {
        "c": "apparel/t-shirts 95",
        "co": "navy blue 93",
        "m": "cotton 82",
        "s": "casual 70",
        "p": "solid 91",
        "se": "summer 60",
        "k": ["crew neck 88", "short sleeve 85", "basic tee 80", "everyday top 72", "cotton tee 66"],
        "x": [],
    }
    values.update(overrides)
    answer = {"a": [values.pop(key) for key in ATTRIBUTE_ORDER], "k": values.pop("k"), "x": values.pop("x")}
    answer.update(values)
    return answer


@pytest.fixture
def product(db):
    return ProductFactory()


@pytest.fixture
def product_image(product):
    return add_product_image(product=product, upload=image_upload(size=(640, 480), colour=(30, 40, 120)))


@pytest.fixture
def answering(model_server):
    """Set the loopback model's answer: a dict (sent as JSON) or raw text."""

    def set_answer(answer) -> None:
        model_server.answer = answer if isinstance(answer, str) else json.dumps(answer)

    return set_answer
