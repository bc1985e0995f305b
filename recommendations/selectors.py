"""Reads of recommendations: precomputed neighbours and session tag profiles."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.core.cache import cache
from django.db.models import Count

from catalog.models import Product
from recommendations.models import SimilarProduct, TagWeight
from recommendations.similarity import SCORE_DECIMALS, idf
from tagging.models import ProductTag


def similar_products(*, product: Product, limit: int = 10) -> list[tuple[Product, float]]:
    """The most similar active products to ``product``, best first, in one indexed query."""
    return _neighbours(SimilarProduct.objects.filter(product=product), limit=limit)


class SimilarItem(NamedTuple):
    """One neighbour as the storefront shows it (what ``similar_products_of_sku`` returns)."""

    sku: str
    title: str
    price: Decimal
    currency: str
    category_name: str | None
    category_path: str | None
    status: str
    created_at: datetime
    score: float


_SIMILAR_ITEM_COLUMNS = (
    "neighbour__sku",
    "neighbour__title",
    "neighbour__price",
    "neighbour__currency",
    "neighbour__category__name",
    "neighbour__category__path",
    "neighbour__status",
    "neighbour__created_at",
    "score",
)


def similar_products_of_sku(*, sku: str, limit: int = 10) -> list[SimilarItem] | None:
    """The most similar active products to the active product ``sku``, or None when there is none.

    One query of plain values (no model instances: this is the storefront's hottest read) when
    the product has neighbours, the common case; a second only to tell an unknown or hidden
    SKU from a product without neighbours.
    """
    rows = (
        SimilarProduct.objects.filter(
            product__sku=sku, product__status=Product.Status.ACTIVE, neighbour__status=Product.Status.ACTIVE
        )
        .order_by("rank")
        .values_list(*_SIMILAR_ITEM_COLUMNS)[:limit]
    )
    found = [SimilarItem._make(row) for row in rows]
    if found or Product.objects.public().filter(sku=sku).exists():
        return found
    return None


def _neighbours(rows, *, limit: int) -> list[tuple[Product, float]]:
    rows = (
        rows.filter(neighbour__status=Product.Status.ACTIVE)
        .select_related("neighbour__category")
        .only(
            "score",
            "rank",
            "neighbour__sku",
            "neighbour__title",
            "neighbour__price",
            "neighbour__currency",
            "neighbour__status",
            "neighbour__created_at",
            "neighbour__category__name",
            "neighbour__category__path",
        )
        .order_by("rank")[:limit]
    )
    return [(row.neighbour, row.score) for row in rows]


DOCUMENT_FREQUENCY_SECONDS = 600


@dataclass(frozen=True)
class Candidate:
    product: Product
    score: float
    shared_tags: tuple[str, ...]


@dataclass(frozen=True)
class SessionCandidates:
    viewed: list[Product]
    candidates: list[Candidate]


def tag_document_frequencies(*, tag_ids: Iterable[int]) -> tuple[int, dict[int, int]]:
    """(active product count, {tag id: active products carrying it}), cached for ten minutes."""
    tag_ids = sorted(set(tag_ids))
    product_count = cache.get("recommendations:active-count")
    if product_count is None:
        product_count = Product.objects.public().count()
        cache.set("recommendations:active-count", product_count, DOCUMENT_FREQUENCY_SECONDS)
    keys = {f"recommendations:df:{tag_id}": tag_id for tag_id in tag_ids}
    found = {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
    missing = [tag_id for tag_id in tag_ids if tag_id not in found]
    if missing:
        counted = dict(
            ProductTag.objects.filter(
                tag_id__in=missing, status=ProductTag.Status.APPLIED, product__status=Product.Status.ACTIVE
            )
            .values_list("tag_id")
            .annotate(Count("id"))
        )
        fresh = {tag_id: counted.get(tag_id, 0) for tag_id in missing}
        cache.set_many(
            {f"recommendations:df:{tag_id}": value for tag_id, value in fresh.items()}, DOCUMENT_FREQUENCY_SECONDS
        )
        found.update(fresh)
    return product_count, found


def tag_weights(*, tag_ids: list[int]) -> dict[int, float]:
    """idf weights as stored by the last rebuild; tags newer than it are counted live (and cached)."""
    weights = dict(TagWeight.objects.filter(tag_id__in=tag_ids).values_list("tag_id", "weight"))
    missing = [tag_id for tag_id in tag_ids if tag_id not in weights]
    if missing:
        product_count, frequencies = tag_document_frequencies(tag_ids=missing)
        for tag_id in missing:
            weights[tag_id] = float(idf(product_count=product_count, document_frequency=frequencies[tag_id]))
    return weights


def session_candidates(*, viewed_skus: list[str], limit: int) -> SessionCandidates:
    """Products for a session, scored against the tag profile of what it viewed.

    The profile weighs each applied tag of the viewed products by how often the session met
    it times its rarity (the idf of recommendations.similarity). Candidates are the viewed
    products' precomputed neighbours, so the cost stays flat as the catalog grows.
    """
    viewed = list(Product.objects.public().filter(sku__in=viewed_skus).only("id", "sku", "title", "category_id"))
    viewed_ids = [product.pk for product in viewed]
    session_tags = Counter(
        ProductTag.objects.filter(product_id__in=viewed_ids, status=ProductTag.Status.APPLIED).values_list(
            "tag_id", flat=True
        )
    )
    if not session_tags:
        return SessionCandidates(viewed, [])
    weights = tag_weights(tag_ids=list(session_tags))
    profile = {tag_id: seen * weights[tag_id] for tag_id, seen in session_tags.items()}
    neighbour_ids = set(
        SimilarProduct.objects.filter(product_id__in=viewed_ids).values_list("neighbour_id", flat=True)
    ) - set(viewed_ids)
    scores: dict[int, float] = {}
    shared: dict[int, list[str]] = {}
    matches = ProductTag.objects.filter(
        product_id__in=neighbour_ids, tag_id__in=list(profile), status=ProductTag.Status.APPLIED
    ).values_list("product_id", "tag_id", "tag__name")
    for product_id, tag_id, tag_name in matches:
        scores[product_id] = scores.get(product_id, 0.0) + profile[tag_id]
        shared.setdefault(product_id, []).append(tag_name)
    ranked = sorted(scores, key=lambda product_id: (-round(scores[product_id], SCORE_DECIMALS), product_id))[:limit]
    products = Product.objects.public().select_related("category").in_bulk(ranked)
    candidates = [
        Candidate(products[product_id], round(scores[product_id], SCORE_DECIMALS), tuple(sorted(shared[product_id])))
        for product_id in ranked
        if product_id in products
    ]
    return SessionCandidates(viewed, candidates)
