"""The local analyser (no API key) end to end; its parts have their own tests (test_colours,
test_quality, test_detectors)."""

import io

from PIL import Image

from catalog.demo import COLOURS, DemoProduct, draw_product_image
from catalog.services import add_product_image
from tagging import services
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


def test_local_analyser_says_nothing_it_cannot_see():
    findings = analyse_locally(Image.open(io.BytesIO(_demo_photo("red"))).convert("RGB"), workflow="full")

    assert {finding.facet for finding in findings.tags} == {"colour"}


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
