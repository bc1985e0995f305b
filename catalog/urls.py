from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.api.views import FacetCountsView, ImageStatusView, ProductViewSet, TagListView

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    path("tags/", TagListView.as_view(), name="tag-list"),
    path("facets/", FacetCountsView.as_view(), name="facet-counts"),
    path("images/<int:pk>/", ImageStatusView.as_view(), name="image-status"),
    *router.urls,
]
