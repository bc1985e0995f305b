"""A small hand-built catalog whose similarity ranking is computed by hand in test_similar.py."""

import math
import random

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


def build_skewed_catalog() -> list[Product]:
    """75 products (5 held) in three categories or none, tags drawn with a heavy head."""
    rng = random.Random(11)
    categories = [category_from_path(path=name) for name in ("Kitchen", "Garden", "Bath")]
    tags = [TagFactory(facet=Facet.KEYWORD, name=f"tag-{index}") for index in range(30)]
    products = [
        ProductFactory(sku=f"s{index}", category=rng.choice([*categories, None]), status=status)
        for index, status in enumerate(["active"] * 70 + ["held"] * 5)
    ]
    for product in products:
        # A few tags on many products, many tags on few: index drawn with a heavy head.
        chosen = {min(int(rng.paretovariate(1.2)) - 1, len(tags) - 1) for _ in range(rng.randint(0, 6))}
        for index in chosen:
            ProductTag.objects.create(product=product, tag=tags[index], status=ProductTag.Status.APPLIED)
    return products
