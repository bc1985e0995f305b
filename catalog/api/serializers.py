"""Serializers of the catalog alone, shared by every API that lists products."""

from rest_framework import serializers

from catalog.models import Product


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField(help_text="Slash-joined slugs from the root, usable as the `category` filter.")


class ProductSummarySerializer(serializers.ModelSerializer):
    category = CategorySerializer(allow_null=True, read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "title", "price", "currency", "category", "status", "created_at"]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
