"""Storefront filters for products: category subtree, tags, tags of one facet, price range.

Every filter is bounded (values per list, characters per value, duplicates dropped) and answers
400 past its bounds, and every accepted filter builds SQL that grows linearly with its input:
an anonymous URL must not be able to build a query the database takes minutes over.
"""

from functools import reduce
from operator import or_

import django_filters
from django import forms
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django_filters.fields import BaseCSVField

from catalog.models import Category, Product
from catalog.selectors import category_filter
from tagging.models import Facet, ProductTag

# A storefront facet panel sends a handful of values; 20 is generous and keeps every query small.
MAX_FILTER_VALUES = 20
MAX_FILTER_VALUE_LENGTH = 100
MAX_CATEGORY_PATH_LENGTH = Category._meta.get_field("path").max_length


class BoundedCSVField(BaseCSVField):
    """Comma-separated values: blanks and duplicates dropped, at most MAX_FILTER_VALUES of them."""

    def clean(self, value):
        values = super().clean(value)
        if values is None:
            return None
        distinct = list(dict.fromkeys(item.strip() for item in values if item and item.strip()))
        if len(distinct) > MAX_FILTER_VALUES:
            raise forms.ValidationError(
                f"At most {MAX_FILTER_VALUES} different values, separated by commas ({len(distinct)} given).",
                code="too_many_values",
            )
        if any(len(item) > MAX_FILTER_VALUE_LENGTH for item in distinct):
            raise forms.ValidationError(
                f"Each value may have at most {MAX_FILTER_VALUE_LENGTH} characters.", code="value_too_long"
            )
        return distinct


class CharListFilter(django_filters.BaseCSVFilter, django_filters.CharFilter):
    """A bounded comma-separated list of strings."""

    base_field_class = BoundedCSVField


def _tag_condition(value: str) -> Q:
    facet, _, slug = value.rpartition(":")
    return Q(tag__slug=slug, **({"tag__facet": facet} if facet else {}))


def products_carrying_all(values: list[str]) -> QuerySet:
    """Ids of products with an applied tag for every value (``facet:slug`` or a bare slug).

    One grouped subquery whatever the number of values: each value adds one condition and one
    conditional count. One EXISTS per value made the planner join a subquery per value, which
    on PostgreSQL grew far faster than the number of values.
    """
    conditions = [_tag_condition(value) for value in values]
    matches = {f"matches_{index}": Count("pk", filter=condition) for index, condition in enumerate(conditions)}
    return (
        ProductTag.objects.filter(reduce(or_, conditions), status=ProductTag.Status.APPLIED)
        .values("product_id")
        .annotate(**matches)
        .filter(**{f"{alias}__gt": 0 for alias in matches})
        .values("product_id")
    )


class ProductFilter(django_filters.FilterSet):
    """Tag filters match applied tags only.

    ``tag=colour:red,material:oak`` needs every tag listed (``facet:slug`` or a bare slug);
    ``colour=red,navy`` needs any one tag of that facet. Facets combine with AND and values
    within a facet with OR, as storefront facet panels do.
    """

    category = django_filters.CharFilter(
        method="filter_category",
        max_length=MAX_CATEGORY_PATH_LENGTH,
        help_text="Category path, e.g. `home/kitchen`; includes its sub-categories.",
    )
    tag = CharListFilter(
        method="filter_all_tags",
        help_text=f"Comma-separated `facet:slug` (or bare slug), at most {MAX_FILTER_VALUES}; "
        "products carrying all of them.",
    )
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")

    class Meta:
        model = Product
        fields = ["category", "tag", "min_price", "max_price"]

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(category_filter(value))

    def filter_all_tags(self, queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
        return queryset.filter(pk__in=products_carrying_all(values)) if values else queryset

    def filter_any_tag_of_facet(self, queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return queryset
        applied = ProductTag.objects.filter(
            product=OuterRef("pk"), status=ProductTag.Status.APPLIED, tag__facet=name, tag__slug__in=values
        )
        return queryset.filter(Exists(applied))


for _facet in Facet:
    # ``category`` already names the category-tree filter; its tag facet goes by ``category_tag``.
    _parameter = "category_tag" if _facet == Facet.CATEGORY else _facet.value
    ProductFilter.base_filters[_parameter] = CharListFilter(
        field_name=_facet.value,
        method="filter_any_tag_of_facet",
        help_text=f"Comma-separated {_facet.label.lower()} tag slugs, at most {MAX_FILTER_VALUES}; "
        "products carrying any one of them.",
    )
