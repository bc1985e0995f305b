"""The controlled vocabulary: normalisation, synonyms, the default data, proposals."""

import pytest

from tagging import vocabulary
from tagging.models import Tag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Navy   Blue ", "navy blue"),
        ("T-Shirts", "t shirts"),
        ("polka_dot", "polka dot"),
        ("Rock & Roll!", "rock and roll"),
    ],
)
def test_normalise(text, expected):
    assert vocabulary.normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("dresses", "dress"), ("baskets", "basket"), ("accessories", "accessory"), ("jeans", "jeans"), ("glass", "glass")],
)
def test_singular(text, expected):
    assert vocabulary.singular(text) == expected


@pytest.mark.django_db
def test_navy_blue_is_navy_under_blue():
    navy = vocabulary.resolve(facet="colour", value="Navy Blue")

    assert (navy.name, navy.parent.name, navy.status) == ("navy", "blue", Tag.Status.CANONICAL)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("facet", "value", "slug"),
    [
        ("material", "Wicker", "rattan"),
        ("material", "batik", "batik"),
        ("pattern", "Stripes", "striped"),
        ("colour", "Gray", "grey"),
        ("category", "Tees", "t-shirts"),
        ("season", "Fall", "autumn"),
    ],
)
def test_synonyms_and_plurals_resolve_to_canonical_tags(facet, value, slug):
    tag = vocabulary.resolve(facet=facet, value=value)

    assert (tag.slug, tag.status) == (slug, Tag.Status.CANONICAL)


@pytest.mark.django_db
def test_default_category_tree_covers_the_catalogue():
    roots = set(Tag.objects.filter(facet="category", parent__isnull=True).values_list("slug", flat=True))

    assert {"apparel", "footwear", "bags", "home", "electronics", "food", "handmade-crafts"} <= roots


@pytest.mark.django_db
def test_unknown_value_becomes_a_proposed_tag_not_a_canonical_one():
    tag = vocabulary.resolve(facet="material", value="Mycelium Leather Alternative")

    assert (tag.name, tag.status) == ("mycelium leather alternative", Tag.Status.PROPOSED)


@pytest.mark.django_db
def test_same_unknown_value_twice_gives_one_proposed_tag():
    first = vocabulary.resolve(facet="style", value="Cottagecore")
    second = vocabulary.resolve(facet="style", value="cottagecore")

    assert first.pk == second.pk


@pytest.mark.django_db
def test_unknown_subcategory_is_proposed_under_its_known_parent():
    tag = vocabulary.resolve(facet="category", value="Footwear/Clogs")

    assert (tag.name, tag.status, tag.parent.slug) == ("clog", Tag.Status.PROPOSED, "footwear")
