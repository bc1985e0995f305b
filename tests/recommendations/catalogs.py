"""A small hand-built catalog whose similarity ranking is computed by hand in test_similar.py."""

import math

from catalog.models import Product
from catalog.services import category_from_path
from tagging.models import Facet, ProductTag
from tests.factories import ProductFactory, TagFactory


def idf(*, product_count: int, document_frequency: int) -> float:
    return math.log((1 + product_count) / (1 + document_frequency)) + 1


def apply_tags(product, *slugs, status=ProductTag.Status.APPLIED):
    for slug in slugs:
        facet = {"red": Facet.COLOUR, "steel": Facet.MATERIAL}.get(slug, Facet.STYLE)
        ProductTag.objects.create(product=product, tag=TagFactory(facet=facet, name=slug), status=status)


def build_small_catalog() -> dict:
    """Five active products and one held one; see test_similar.py for the hand computation."""
    kitchen, garden = category_from_path(path="Kitchen"), category_from_path(path="Garden")
    products = {
        "p1": ProductFactory(sku="p1", title="Vintage steel red knife", category=kitchen),
        "p2": ProductFactory(sku="p2", title="Steel red pan", category=kitchen),
        "p3": ProductFactory(sku="p3", title="Vintage steel red trowel", category=garden),
        "p4": ProductFactory(sku="p4", title="Vintage pot", category=garden),
        "p5": ProductFactory(sku="p5", title="Red mug", category=kitchen),
        "held": ProductFactory(sku="held", title="Held twin of p1", category=kitchen, status=Product.Status.HELD),
    }
    apply_tags(products["p1"], "red", "steel", "vintage")
    apply_tags(products["p2"], "red", "steel")
    apply_tags(products["p3"], "red", "steel", "vintage")
    apply_tags(products["p4"], "vintage")
    apply_tags(products["p5"], "red")
    apply_tags(products["p5"], "steel", status=ProductTag.Status.NEEDS_REVIEW)
    apply_tags(products["held"], "red", "steel", "vintage")
    return products
