"""Reading category, material, style, pattern and season from the product's own words."""

import pytest

from tagging.analysis.parsing import TEXT
from tagging.analysis.text_attributes import CONFIDENCE, IN_BOTH_BONUS, text_attributes
from tagging.models import Tag
from tagging.vocabulary import add_synonym

pytestmark = pytest.mark.django_db


def _found(title: str, description: str = "") -> dict[tuple[str, str], float]:
    return {(f.facet, f.value): f.confidence for f in text_attributes(title=title, description=description)}


def test_a_pink_bamboo_woven_basket_is_a_bamboo_basket_with_a_woven_pattern():
    found = _found("Pink bamboo woven basket")

    assert found == {
        ("category", "baskets"): CONFIDENCE[("title", "synonym")],  # "woven basket"
        ("material", "bamboo"): CONFIDENCE[("title", "name")],
        ("pattern", "woven"): CONFIDENCE[("title", "name")],
    }


def test_every_finding_says_it_was_read_from_text():
    findings = text_attributes(title="Striped linen shirt", description="")

    assert findings and {finding.evidence for finding in findings} == {TEXT}


def test_synonyms_and_plurals_name_the_canonical_tag():
    found = _found("Set of two wicker baskets", "Boho storage, made for picnics in the summertime")

    assert found[("material", "rattan")] == CONFIDENCE[("title", "synonym")]
    assert found[("category", "baskets")] == CONFIDENCE[("title", "name")]
    assert found[("style", "bohemian")] == CONFIDENCE[("description", "synonym")]
    assert found[("season", "summer")] == CONFIDENCE[("description", "synonym")]


def test_only_whole_words_count():
    assert _found("Cottonwood candle from Woolworth", "Silkscreened glassblower's tools") == {}


def test_a_value_in_title_and_description_is_more_certain():
    found = _found("Linen cushion", "A cushion cover in washed linen.")

    assert found[("material", "linen")] == pytest.approx(CONFIDENCE[("title", "name")] + IN_BOTH_BONUS)


def test_the_description_alone_gives_less_certain_values():
    found = _found("Nordic mood", "A rustic stoneware cup for winter evenings.")

    assert found[("style", "rustic")] == CONFIDENCE[("description", "name")]
    assert found[("material", "ceramic")] == CONFIDENCE[("description", "synonym")]
    assert found[("category", "mugs")] == CONFIDENCE[("description", "synonym")]
    assert found[("season", "winter")] == CONFIDENCE[("description", "name")]


def test_denied_values_are_not_tags():
    found = _found("Vegan tote bag", "No leather, leather-free stitching, not made of plastic.")

    assert not {value for facet, value in found if facet == "material"}


def test_a_denial_reaches_only_the_phrase_it_is_about():
    found = _found("No-iron cotton shirt", "Non-slip rubber sole.")

    assert {value for facet, value in found if facet == "material"} == {"cotton", "rubber"}


def test_words_that_mean_something_else_in_prose_are_not_tags():
    found = _found("Light blue top quality tote", "Spot clean only; will not fall apart. Simple to check.")

    assert found == {("category", "tote bags"): CONFIDENCE[("title", "synonym")]}


def test_one_category_the_titles_head_noun():
    assert _found("Coffee mug")[("category", "mugs")]
    assert [key for key in _found("Tote bag with laptop sleeve") if key[0] == "category"] == [("category", "tote bags")]
    assert [key for key in _found("Leather phone case wallet") if key[0] == "category"] == [("category", "wallets")]


def test_at_most_two_values_of_a_facet_the_surest_first():
    found = _found("Cotton linen silk wool scarf")

    assert len([key for key in found if key[0] == "material"]) == 2


def test_staff_edits_of_the_vocabulary_count_at_once():
    assert ("style", "bohemian") not in _found("Hippie fringe bag")

    add_synonym(tag=Tag.objects.get(facet="style", slug="bohemian"), text="hippie")

    assert _found("Hippie fringe bag")[("style", "bohemian")] == CONFIDENCE[("title", "synonym")]


def test_proposed_values_are_not_read():
    Tag.objects.create(facet="pattern", name="ikat", slug="ikat", status=Tag.Status.PROPOSED)

    assert ("pattern", "ikat") not in _found("Ikat cushion")


def test_colours_and_keywords_are_left_to_the_pixels_and_models():
    assert {facet for facet, _ in _found("Red cotton T-shirt, crew neck")} == {"category", "material"}


def test_the_phrase_index_is_read_once_until_the_vocabulary_changes(django_assert_num_queries):
    _found("Linen shirt")

    with django_assert_num_queries(0):
        assert _found("Wool coat")[("material", "wool")] == CONFIDENCE[("title", "name")]
