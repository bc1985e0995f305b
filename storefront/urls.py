from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from storefront.api.views import FacetCountsView, ImageStatusView, ProductViewSet, TagListView

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    path("tags/", TagListView.as_view(), name="tag-list"),
    path("facets/", FacetCountsView.as_view(), name="facet-counts"),
    # Any segment, so a malformed id is the view's JSON 404 rather than Django's HTML one.
    re_path(r"^images/(?P<pk>[^/]+)/$", ImageStatusView.as_view(), name="image-status"),
    *router.urls,
]
