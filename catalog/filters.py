"""Storefront filters for products: category subtree, tags, tags of one facet, price range."""

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from catalog.models import Product
from catalog.selectors import category_filter
from tagging.models import Facet, ProductTag


class CharListFilter(django_filters.BaseCSVFilter, django_filters.CharFilter):
    """A comma-separated list of strings."""


def _with_applied_tag(**lookups) -> Exists:
    return Exists(ProductTag.objects.filter(product=OuterRef("pk"), status=ProductTag.Status.APPLIED, **lookups))


class ProductFilter(django_filters.FilterSet):
    """Tag filters match applied tags only.

    ``tag=colour:red,material:oak`` needs every tag listed (``facet:slug`` or a bare slug);
    ``colour=red,navy`` needs any one tag of that facet. Facets combine with AND and values
    within a facet with OR, as storefront facet panels do.
    """

    category = django_filters.CharFilter(
        method="filter_category", help_text="Category path, e.g. `home/kitchen`; includes its sub-categories."
    )
    tag = CharListFilter(
        method="filter_all_tags",
        help_text="Comma-separated `facet:slug` (or bare slug); products carrying all of them.",
    )
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")

    class Meta:
        model = Product
        fields = ["category", "tag", "min_price", "max_price"]

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(category_filter(value))

    def filter_all_tags(self, queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
        for value in filter(None, (value.strip() for value in values)):
            facet, _, slug = value.rpartition(":")
            lookups = {"tag__slug": slug, **({"tag__facet": facet} if facet else {})}
            queryset = queryset.filter(_with_applied_tag(**lookups))
        return queryset

    def filter_any_tag_of_facet(self, queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
        slugs = [value.strip() for value in values if value.strip()]
        return queryset.filter(_with_applied_tag(tag__facet=name, tag__slug__in=slugs)) if slugs else queryset


for _facet in Facet:
    # ``category`` already names the category-tree filter; its tag facet goes by ``category_tag``.
    _parameter = "category_tag" if _facet == Facet.CATEGORY else _facet.value
    ProductFilter.base_filters[_parameter] = CharListFilter(
        field_name=_facet.value,
        method="filter_any_tag_of_facet",
        help_text=f"Comma-separated {_facet.label.lower()} tag slugs; products carrying any one of them.",
    )
