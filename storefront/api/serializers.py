"""Products as the storefront API shows them: with images, applied tags and analysis states."""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.serializers import ProductSummarySerializer
from catalog.exceptions import CategoryPathInvalid
from catalog.models import Product, ProductImage
from catalog.selectors import primary_image
from catalog.services import category_names
from storefront.selectors import product_quality, tags_by_facet
from tagging.models import ImageAnalysis, Tag


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "width", "height", "format", "file_size", "position"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, image: ProductImage) -> str:
        url = image.image.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ProductTagSerializer(serializers.Serializer):
    slug = serializers.CharField(source="tag.slug")
    name = serializers.CharField(source="tag.name")
    confidence = serializers.FloatField()
    band = serializers.CharField()
    source = serializers.CharField()
    evidence = serializers.CharField(
        help_text="What a machine found the tag in: `vision` (the image) or `text` (the product's title and "
        "description); empty for tags staff added."
    )


class PrimaryImageSerializer(ImageSerializer):
    class Meta(ImageSerializer.Meta):
        fields = ["id", "url", "width", "height"]


class ProductListSerializer(ProductSummarySerializer):
    """A storefront list row: the summary plus the first image and the applied tags."""

    primary_image = serializers.SerializerMethodField(help_text="The first image by position; null without images.")
    tags = serializers.SerializerMethodField(help_text="Applied tags grouped by facet.")

    class Meta(ProductSummarySerializer.Meta):
        fields = [*ProductSummarySerializer.Meta.fields, "primary_image", "tags"]

    @extend_schema_field(PrimaryImageSerializer(allow_null=True))
    def get_primary_image(self, product: Product) -> dict | None:
        image = primary_image(product=product)
        return PrimaryImageSerializer(image, context=self.context).data if image is not None else None

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}})
    def get_tags(self, product: Product) -> dict[str, list[dict]]:
        return {
            facet: ProductTagSerializer(product_tags, many=True).data
            for facet, product_tags in tags_by_facet(product=product).items()
        }


class ProductDetailSerializer(ProductSummarySerializer):
    images = ImageSerializer(many=True, read_only=True)
    tags = serializers.SerializerMethodField(help_text="Applied tags grouped by facet.")
    quality_score = serializers.SerializerMethodField(help_text="Mean image quality, 0–10; null before analysis.")

    class Meta(ProductSummarySerializer.Meta):
        fields = [*ProductSummarySerializer.Meta.fields, "description", "updated_at", "images", "tags", "quality_score"]

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}})
    def get_tags(self, product: Product) -> dict[str, list[dict]]:
        return {
            facet: ProductTagSerializer(product_tags, many=True).data
            for facet, product_tags in tags_by_facet(product=product).items()
        }

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_quality_score(self, product: Product) -> float | None:
        return product_quality(product=product)


class CategoryPathField(serializers.CharField):
    """A category as the path of its slugs (``home/kitchen``): what it writes out, it reads back."""

    def to_representation(self, category) -> str:
        return category.path

    def to_internal_value(self, data) -> str:
        path = super().to_internal_value(data)
        if path:
            try:
                category_names(path=path)
            except CategoryPathInvalid as invalid:
                raise serializers.ValidationError(str(invalid)) from None
        return path


class ProductWriteSerializer(serializers.ModelSerializer):
    """What integrations send; ``category`` is a path of names, created when missing."""

    category = CategoryPathField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="A path of names separated by `/` (e.g. `Home/Kitchen/Knives`); answers give the slugs' path.",
    )
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    status = serializers.ChoiceField(
        choices=Product.Status.choices,
        required=False,
        help_text="`draft` or `active`; `held` is kept as sent back, and released only by staff clearing its flag.",
    )

    class Meta:
        model = Product
        fields = ["sku", "title", "description", "price", "currency", "category", "status"]

    def to_internal_value(self, data) -> dict:
        # DRF reads an empty optional field of a form (multipart, urlencoded) as "not sent", so
        # `currency=` silently kept the old value; an empty value is refused as JSON's is.
        if hasattr(data, "getlist"):
            blank = {
                name: ["This field may not be blank."]
                for name, field in self.fields.items()
                if not field.read_only and not getattr(field, "allow_blank", False) and data.get(name) == ""
            }
            if blank:
                raise serializers.ValidationError(blank)
        return super().to_internal_value(data)

    def validate_currency(self, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use a three-letter ISO 4217 code, e.g. USD.")
        return value.upper()

    def validate(self, attrs: dict) -> dict:
        product = self.instance
        current_status = product.status if product is not None else None
        if attrs.get("status", current_status) != current_status and Product.Status.HELD in (
            attrs["status"],
            current_status,
        ):
            raise serializers.ValidationError(
                {"status": "Only staff hold products, and release them by clearing their flag."}
            )
        if product is not None and attrs.get("sku", product.sku) != product.sku:
            raise serializers.ValidationError({"sku": "A product's SKU cannot change."})
        return attrs


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP, at most 20 MB.")
    position = serializers.IntegerField(required=False, min_value=0, max_value=32767)


class AnalysisStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImageAnalysis
        fields = ["id", "workflow", "status", "model", "quality_score", "error", "created_at", "finished_at"]


class ImageStatusSerializer(ImageSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    analysis_status = serializers.SerializerMethodField(
        help_text="Status of the newest analysis, or `pending` while none has been recorded yet."
    )
    analyses = AnalysisStatusSerializer(many=True, read_only=True)

    class Meta(ImageSerializer.Meta):
        fields = [*ImageSerializer.Meta.fields, "sku", "analysis_status", "analyses"]

    @extend_schema_field({"type": "string", "enum": ["pending", *ImageAnalysis.Status.values]})
    def get_analysis_status(self, image: ProductImage) -> str:
        analyses = list(image.analyses.all())
        return analyses[0].status if analyses else "pending"


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["facet", "slug", "name"]


class FacetValueSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class FacetCountsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Products matching the current filter.")
    facets = serializers.DictField(child=FacetValueSerializer(many=True), help_text="Tag counts, by facet.")
