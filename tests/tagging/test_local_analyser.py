"""The local analyser (no API key): colours from pixels, quality, the packaged detector."""

import io

import pytest
from PIL import Image

from catalog.demo import COLOURS, DemoProduct, draw_product_image
from catalog.services import add_product_image
from tagging import services
from tagging.analysis.colours import dominant_colours
from tagging.analysis.detectors import adult_signal, detector_available
from tagging.analysis.local import analyse_locally
from tagging.models import ImageAnalysis, ProductTag


def _demo_photo(colour: str, kind: str = "tshirt", pattern: str = "solid") -> bytes:
    product = DemoProduct(
        sku="X",
        title="x",
        description="",
        price=1,
        category_path="a",
        kind=kind,
        colour=colour,
        pattern=pattern,
        image_seed=5,
    )
    return draw_product_image(product, size=640)


@pytest.mark.parametrize("colour", ["red", "navy", "green", "yellow", "black", "orange", "purple", "teal", "pink"])
def test_dominant_colour_of_a_product_on_white_is_named(colour):
    image = Image.open(io.BytesIO(_demo_photo(colour)))

    found = dominant_colours(image)

    assert found[0].name == colour
    assert found[0].confidence >= 0.9


def test_blank_backdrop_has_no_colour():
    assert dominant_colours(Image.new("RGB", (400, 400), (250, 250, 250))) == []


def test_local_analyser_says_nothing_it_cannot_see():
    findings = analyse_locally(Image.open(io.BytesIO(_demo_photo("red"))).convert("RGB"), workflow="full")

    assert {finding.facet for finding in findings.tags} == {"colour"}


@pytest.mark.skipif(not detector_available(), reason="onnxruntime or the nudenet package is not installed")
def test_packaged_detector_scores_a_product_shot_as_not_adult():
    score = adult_signal(Image.open(io.BytesIO(_demo_photo("beige", kind="mug"))))

    assert 0.0 <= score < 0.2


def test_without_an_api_key_the_local_analyser_tags_colours_at_no_cost(db, settings, model_server):
    from tests.factories import ProductFactory

    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = model_server.base_url
    product = ProductFactory()
    image = add_product_image(product=product, upload=io.BytesIO(_demo_photo("red")))

    analysis = services.analyze_image(image_id=image.pk)

    assert (analysis.status, analysis.analyser, analysis.cost_usd) == (ImageAnalysis.Status.SUCCEEDED, "local", 0)
    assert analysis.quality_score is not None
    row = ProductTag.objects.get(product=product)
    assert (row.tag.facet, row.tag.slug, row.status) == ("colour", "red", ProductTag.Status.APPLIED)
    assert model_server.chat_requests == []


def test_demo_palette_names_are_all_in_the_colour_vocabulary(db):
    from tagging.models import Tag

    names = set(Tag.objects.filter(facet="colour").values_list("slug", flat=True))
    assert set(COLOURS) <= names


@pytest.mark.skipif(not detector_available(), reason="onnxruntime or the nudenet package is not installed")
def test_local_detector_score_above_the_threshold_holds_the_product(db, settings):
    from catalog.models import Product
    from tagging.models import Flag
    from tests.factories import ProductFactory

    settings.OPENAI_API_KEY = ""
    settings.SHELFSIGHT_PROHIBITED_FLAG_AT = 0.0  # every real detector score is at or above zero
    product = ProductFactory()
    image = add_product_image(product=product, upload=io.BytesIO(_demo_photo("beige", kind="mug")))

    analysis = services.analyze_image(image_id=image.pk)

    flag = Flag.objects.get(kind=Flag.Kind.PROHIBITED)
    assert (flag.reason, flag.confidence) == ("adult", analysis.result["prohibited"]["adult"])
    assert Product.objects.get(pk=product.pk).status == Product.Status.HELD
