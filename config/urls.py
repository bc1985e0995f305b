from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from config import views

admin.site.site_header = "Shelfsight staff"
admin.site.site_title = "Shelfsight"
admin.site.index_title = "Catalog, tagging and model gateway"

urlpatterns = [
    path("", views.front_page, name="front-page"),
    path("health/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", views.ApiRootView.as_view(), name="api-root"),
    path("api/schema/", views.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("storefront.urls")),
    path("api/", include("recommendations.urls")),
    path("", include("tagging.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
