"""Search and page size as the API reads them: bounded, de-duplicated, or a clear 400.

DRF's search turns every word into its own AND clause: a URL with a thousand words from an
anonymous client must be refused, not handed to the database.
"""

from rest_framework import filters
from rest_framework.exceptions import ValidationError

from storefront.filters import MAX_FILTER_VALUE_LENGTH

MAX_SEARCH_TERMS = 10


class BoundedSearchFilter(filters.SearchFilter):
    def get_search_terms(self, request) -> list[str]:
        terms = list(dict.fromkeys(super().get_search_terms(request)))
        if len(terms) > MAX_SEARCH_TERMS:
            raise ValidationError(
                {self.search_param: [f"At most {MAX_SEARCH_TERMS} search words ({len(terms)} given)."]}
            )
        if any(len(term) > MAX_FILTER_VALUE_LENGTH for term in terms):
            raise ValidationError(
                {self.search_param: [f"Each search word may have at most {MAX_FILTER_VALUE_LENGTH} characters."]}
            )
        return terms


class StrictPageSizeMixin:
    """``page_size`` must be a whole number from 1 (larger ones are capped at ``max_page_size``)."""

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)
