"""The products API: list, detail and writes, image uploads and their analysis status, tags, facets."""

import hashlib
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, generics, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from catalog import services
from catalog.api.schema import INVALID_CURSOR, LIST_ERRORS, NOT_FOUND, READ_ERRORS, WRITE_ERRORS
from catalog.api.throttling import WriteRateThrottle
from catalog.exceptions import CategoryPathInvalid, ImageRejected, ProductInvalid
from catalog.models import Product
from catalog.selectors import can_see_unpublished, visible_products
from storefront import selectors
from storefront.api.permissions import CanAddProductImages
from storefront.api.query_params import BoundedSearchFilter, StrictPageSizeMixin
from storefront.api.serializers import (
    FacetCountsSerializer,
    ImageSerializer,
    ImageStatusSerializer,
    ImageUploadSerializer,
    ProductDetailSerializer,
    ProductListSerializer,
    ProductWriteSerializer,
    TagSerializer,
)
from storefront.filters import ProductFilter
from tagging.models import Tag

THROTTLES = [*api_settings.DEFAULT_THROTTLE_CLASSES, WriteRateThrottle]
FACET_CACHE_SECONDS = 60


class ProductCursorPagination(StrictPageSizeMixin, CursorPagination):
    """Stable pages at any depth: the cursor encodes a position, not an offset."""

    ordering = ("-created_at", "-id")
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema_view(
    list=extend_schema(
        summary="List products with their first image and applied tags",
        responses={200: ProductListSerializer, 404: INVALID_CURSOR, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One product: images, applied tags by facet, quality score",
        responses={200: ProductDetailSerializer, 404: NOT_FOUND, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create a product",
        request=ProductWriteSerializer,
        responses={201: ProductDetailSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a product",
        request=ProductWriteSerializer,
        responses={200: ProductDetailSerializer, 404: NOT_FOUND, **WRITE_ERRORS},
    ),
)
class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Products. Anonymous clients see active products only; writes need a token."""

    lookup_field = "sku"
    lookup_value_regex = "[^/]+"
    permission_classes = [permissions.DjangoModelPermissionsOrAnonReadOnly]
    throttle_classes = THROTTLES
    filter_backends = [DjangoFilterBackend, BoundedSearchFilter, filters.OrderingFilter]
    filterset_class = ProductFilter
    search_fields = ["title", "description"]
    ordering_fields = ["price", "created_at", "title"]
    pagination_class = ProductCursorPagination
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Product.objects.none()  # permissions read the model from it

    def get_queryset(self):
        if self.action == "list":
            return selectors.product_list(user=self.request.user)
        if self.action in {"partial_update", "images"}:
            return Product.objects.all()
        return selectors.product_detail(user=self.request.user)

    def filter_queryset(self, queryset):
        # Filters, search and ordering are the list's, and the schema documents them for the list
        # only. DRF would also apply them to a single product: there they could only turn a
        # visible product into a 404, and building the filter set is a sizeable share of a detail
        # read's CPU (bench/detail_filters.py).
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.action == "list":
            return ProductListSerializer
        if self.action in {"create", "partial_update"}:
            return ProductWriteSerializer
        return ProductDetailSerializer

    def _saved(self, serializer: ProductWriteSerializer) -> Product:
        data = {**serializer.validated_data}
        product = serializer.instance
        if product is not None:
            current = {"title": product.title, "description": product.description, "price": product.price}
            data = {**current, "currency": product.currency, **data, "sku": product.sku}
        try:
            with transaction.atomic():
                if "category" in data:
                    path = data.pop("category")
                    data["category"] = services.category_from_path(path=path) if path else None
                elif product is not None:
                    data["category"] = product.category
                if product is not None and data.get("status") == product.status:
                    del data["status"]  # sent back unchanged, as the read gave it
                saved, _ = services.upsert_product(**data)
        except ProductInvalid as invalid:
            raise ValidationError(invalid.errors) from None
        except CategoryPathInvalid as invalid:
            raise ValidationError({"category": [str(invalid)]}) from None
        return saved

    def _detail(self, product: Product, *, status_code: int) -> Response:
        product = selectors.product_detail(user=self.request.user).filter(pk=product.pk).first() or product
        return Response(
            ProductDetailSerializer(product, context=self.get_serializer_context()).data, status=status_code
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._detail(self._saved(serializer), status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        serializer = ProductWriteSerializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._detail(self._saved(serializer), status_code=status.HTTP_200_OK)

    @extend_schema(
        summary="Upload an image (multipart); its analysis is queued",
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: ImageSerializer, 404: NOT_FOUND, **WRITE_ERRORS},
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser],
        permission_classes=[CanAddProductImages],
        filter_backends=[],
        pagination_class=None,
    )
    def images(self, request: Request, sku: str | None = None) -> Response:
        product = self.get_object()
        upload = ImageUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            image = services.add_product_image(
                product=product, upload=upload.validated_data["image"], position=upload.validated_data.get("position")
            )
        except ImageRejected as rejection:
            raise ValidationError({"image": [str(rejection)]}) from None
        return Response(ImageSerializer(image, context=self.get_serializer_context()).data, status=201)


class ImageStatusView(generics.RetrieveAPIView):
    """An image and its analyses, newest first: how integrations learn when tagging finished."""

    serializer_class = ImageStatusSerializer
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = THROTTLES

    @extend_schema(
        summary="An image's analysis status",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The image's id.")],
        responses={200: ImageStatusSerializer, 401: WRITE_ERRORS[401], 404: NOT_FOUND, **READ_ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self):
        if not self.kwargs["pk"].isascii() or not self.kwargs["pk"].isdigit():
            raise NotFound()
        image = selectors.image_with_analyses(user=self.request.user, image_id=int(self.kwargs["pk"]))
        if image is None:
            get_object_or_404(Product.objects.none())
        return image


class TagPagination(LimitOffsetPagination):
    default_limit = 200
    max_limit = 1000


@extend_schema_view(
    get=extend_schema(summary="The canonical tag vocabulary", responses={200: TagSerializer, **LIST_ERRORS})
)
class TagListView(generics.ListAPIView):
    serializer_class = TagSerializer
    queryset = Tag.objects.canonical().only("facet", "slug", "name").order_by("facet", "slug")
    filterset_fields = ["facet"]
    pagination_class = TagPagination
    throttle_classes = THROTTLES


class FacetCountsView(generics.GenericAPIView):
    """Tag counts by facet over the products matching the same filters as the product list."""

    serializer_class = FacetCountsSerializer
    filter_backends = [DjangoFilterBackend, BoundedSearchFilter]
    filterset_class = ProductFilter
    search_fields = ProductViewSet.search_fields
    throttle_classes = THROTTLES
    pagination_class = None

    def get_queryset(self):
        return visible_products(user=self.request.user)

    @extend_schema(summary="Facet counts for the current filter", responses={200: FacetCountsSerializer, **LIST_ERRORS})
    def get(self, request: Request) -> Response:
        # Counting tags over a broad filter reads most of the tag table, so the counts are
        # cached briefly per filter; they may lag a change by FACET_CACHE_SECONDS, products never do.
        audience = "all" if can_see_unpublished(request.user) else "public"
        query = urlencode(sorted(request.query_params.lists()), doseq=True)
        key = "catalog:facets:" + hashlib.sha256(f"{audience}?{query}".encode()).hexdigest()
        payload = cache.get(key)
        if payload is None:
            products = self.filter_queryset(self.get_queryset())
            payload = FacetCountsSerializer(
                {"count": products.count(), "facets": selectors.facet_counts(products=products)}
            ).data
            cache.set(key, payload, FACET_CACHE_SECONDS)
        return Response(payload)
