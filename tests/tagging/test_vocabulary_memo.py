"""The in-process memory of resolved vocabulary values, and how staff edits reach it."""

import pytest
from django.core.cache import cache
from django.db import transaction

from tagging import vocabulary
from tagging.models import Tag, TagSynonym

pytestmark = pytest.mark.django_db


@pytest.fixture
def remembered(django_capture_on_commit_callbacks):
    """Resolve as a committed analysis does: the answer is remembered once the transaction commits."""

    def resolve(**kwargs) -> Tag:
        with django_capture_on_commit_callbacks(execute=True):
            return vocabulary.resolve(**kwargs)

    return resolve


def test_a_value_resolved_once_is_answered_without_a_query(remembered, django_assert_num_queries):
    first = remembered(facet="colour", value="Navy Blue")

    with django_assert_num_queries(0):
        again = vocabulary.resolve(facet="colour", value="Navy Blue")

    assert again.pk == first.pk


def test_a_synonym_moved_by_staff_applies_to_the_next_resolve(remembered):
    assert remembered(facet="material", value="Wicker").slug == "rattan"
    leather = Tag.objects.get(facet="material", slug="leather")
    synonym = TagSynonym.objects.get(facet="material", text="wicker")

    synonym.tag = leather
    synonym.save()

    assert vocabulary.resolve(facet="material", value="Wicker").pk == leather.pk


def test_another_process_edit_is_seen_after_the_recheck_period(remembered, monkeypatch):
    monkeypatch.setattr("tagging.vocabulary.RECHECK_SECONDS", 0)
    proposed = remembered(facet="style", value="Gorpcore")
    Tag.objects.filter(pk=proposed.pk).update(status=Tag.Status.CANONICAL)  # no signal here: edited elsewhere

    cache.incr(vocabulary.VERSION_KEY)  # what the other process's commit did

    assert vocabulary.resolve(facet="style", value="Gorpcore").status == Tag.Status.CANONICAL


def test_a_tag_proposed_in_a_rolled_back_transaction_is_not_remembered(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        vocabulary.resolve(facet="pattern", value="Plaidish")
        raise RuntimeError("the analysis failed after the tag was proposed")

    tag = vocabulary.resolve(facet="pattern", value="Plaidish")

    assert Tag.objects.filter(pk=tag.pk).exists()
