from django.urls import path

from recommendations.api import RecommendationsView, SimilarProductsView

urlpatterns = [
    path("products/<str:sku>/similar/", SimilarProductsView.as_view(), name="similar-products"),
    path("recommendations/", RecommendationsView.as_view(), name="recommendations"),
]
