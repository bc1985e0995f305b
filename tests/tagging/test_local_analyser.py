"""The local analyser (no API key) end to end; its parts have their own tests (test_colours,
test_quality, test_detectors, test_text_attributes)."""

import io

import pytest
from PIL import Image

from catalog.demo import COLOURS, DemoProduct, draw_product_image
from catalog.services import add_product_image
from tagging import services
from tagging.analysis.local import analyse_locally
from tagging.models import ImageAnalysis, ProductTag, Tag
from tests.factories import ProductFactory


def _demo_photo(colour: str, kind: str = "tshirt", pattern: str = "solid", seed: int = 5) -> bytes:
    product = DemoProduct("X", "x", "", 1, "a", kind=kind, colour=colour, pattern=pattern, image_seed=seed)
    return draw_product_image(product, size=640)


@pytest.fixture
def no_api_key(settings, model_server):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = model_server.base_url
    return model_server


def _tags(product) -> dict[tuple[str, str], tuple[str, str]]:
    rows = ProductTag.objects.filter(product=product).select_related("tag")
    return {(row.tag.facet, row.tag.slug): (row.evidence, row.status) for row in rows}


def test_without_text_the_local_analyser_names_only_what_the_pixels_show():
    findings = analyse_locally(Image.open(io.BytesIO(_demo_photo("red"))).convert("RGB"), workflow="full")

    assert {finding.facet for finding in findings.tags} == {"colour"}


def test_without_an_api_key_the_product_gets_its_colour_from_pixels_and_the_rest_from_its_text(db, no_api_key):
    product = ProductFactory(title="Red striped cotton T-shirt", description="A casual tee for summer.")
    image = add_product_image(product=product, upload=io.BytesIO(_demo_photo("red", pattern="striped")))

    analysis = services.analyze_image(image_id=image.pk)

    assert (analysis.status, analysis.analyser, analysis.cost_usd) == (ImageAnalysis.Status.SUCCEEDED, "local", 0)
    assert analysis.quality_score is not None
    applied, vision, text = ProductTag.Status.APPLIED, ProductTag.Evidence.VISION, ProductTag.Evidence.TEXT
    assert _tags(product) == {
        ("colour", "red"): (vision, applied),
        ("category", "t-shirts"): (text, applied),
        ("material", "cotton"): (text, applied),
        ("pattern", "striped"): (text, applied),
        ("style", "casual"): (text, applied),
        ("season", "summer"): (text, applied),
    }
    assert ["colour", "red", pytest.approx(0.9, abs=0.1)] in analysis.result["tags"]
    assert ["material", "cotton", 0.92, "text"] in analysis.result["tags"]
    assert no_api_key.chat_requests == []


def test_a_reused_analysis_of_the_same_bytes_reads_the_second_products_own_text(db, no_api_key):
    photo = _demo_photo("teal", kind="mug")
    first = ProductFactory(title="Teal ceramic mug", description="")
    second = ProductFactory(title="Teal glass jar", description="")
    services.analyze_image(image_id=add_product_image(product=first, upload=io.BytesIO(photo)).pk)

    reused = services.analyze_image(image_id=add_product_image(product=second, upload=io.BytesIO(photo)).pk)

    assert reused.reused_from is not None
    assert set(_tags(second)) == {("colour", "teal"), ("material", "glass"), ("category", "pantry")}
    assert set(_tags(first)) == {("colour", "teal"), ("material", "ceramic"), ("category", "mugs")}


def test_a_re_analysis_after_the_title_changed_supersedes_what_the_old_title_said(db, no_api_key):
    product = ProductFactory(title="Brown leather tote bag", description="")
    image = add_product_image(product=product, upload=io.BytesIO(_demo_photo("brown", kind="tote")))
    services.analyze_image(image_id=image.pk)
    product.title = "Brown canvas tote bag"
    product.save()

    services.analyze_image(image_id=image.pk, force=True)

    tags = _tags(product)
    assert tags[("material", "canvas")][1] == ProductTag.Status.APPLIED
    assert tags[("material", "leather")][1] == ProductTag.Status.SUPERSEDED


def test_demo_palette_names_are_all_in_the_colour_vocabulary(db):
    names = set(Tag.objects.filter(facet="colour").values_list("slug", flat=True))
    assert set(COLOURS) <= names


def test_staff_and_the_api_can_tell_text_tags_from_vision_tags(db, no_api_key, client, django_user_model):
    product = ProductFactory(sku="BASKET-1", title="Pink bamboo woven basket", description="")
    image = add_product_image(product=product, upload=io.BytesIO(_demo_photo("pink", kind="basket")))
    services.analyze_image(image_id=image.pk)

    tags = client.get("/api/products/BASKET-1/").json()["tags"]
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-123-xyz"))
    product_page = client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    all_tags = client.get("/admin/tagging/producttag/").content.decode()
    text_tags = client.get("/admin/tagging/producttag/", {"evidence__exact": "text"}).content.decode()

    assert tags["colour"][0]["evidence"] == "vision" and tags["material"][0]["evidence"] == "text"
    assert ">bamboo (text)</span>" in product_page and ">pink</span>" in product_page
    assert "Colour: pink" in all_tags and "Colour: pink" not in text_tags
    assert "Product text" in text_tags and "Material: bamboo" in text_tags
