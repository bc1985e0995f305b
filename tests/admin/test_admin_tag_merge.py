"""Merging tags from the admin: same facet only, refusals as messages, and a warning first."""

import pytest
from django.contrib.messages import get_messages

from tagging.models import ProductTag, Tag
from tests.admin.test_admin_tagging import run_action
from tests.factories import TagFactory

pytestmark = pytest.mark.django_db

TAGS = "/admin/tagging/tag/"


def test_merge_offers_only_targets_of_the_same_facet(staff_client, waiting_image):
    source = Tag.objects.get(name="red")
    crimson = TagFactory(facet="colour", name="crimson", slug="crimson")
    denim = TagFactory(facet="material", name="denim", slug="denim")
    response = run_action(staff_client, TAGS, "merge_into", [source])
    offered = list(response.context["form"].fields["target"].queryset)
    assert crimson in offered
    assert denim not in offered and source not in offered


def test_merge_confirmation_says_it_cannot_be_undone(staff_client, waiting_image):
    page = run_action(staff_client, TAGS, "merge_into", [Tag.objects.get(name="red")]).content.decode()
    assert "A merge cannot be undone." in page


def test_merge_into_a_tag_of_another_facet_is_refused_with_a_message(staff_client, waiting_image):
    product, _, _ = waiting_image
    source = Tag.objects.get(name="red")
    denim = TagFactory(facet="material", name="denim", slug="denim")
    response = run_action(staff_client, TAGS, "merge_into", [source], confirm="yes", target=str(denim.pk))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert ProductTag.objects.filter(product=product, tag=source).exists()
    assert Tag.objects.filter(pk=source.pk).exists()


def test_merging_tags_of_several_facets_is_refused_with_a_message(staff_client, waiting_image):
    red, cotton = Tag.objects.get(name="red"), Tag.objects.get(name="cotton")
    crimson = TagFactory(facet="colour", name="crimson", slug="crimson")
    response = run_action(staff_client, TAGS, "merge_into", [red, cotton], confirm="yes", target=str(crimson.pk))
    assert response.status_code == 302
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    assert "one facet" in message.message
    assert Tag.objects.filter(pk__in=[red.pk, cotton.pk]).count() == 2
