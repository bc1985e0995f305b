"""The site's front door: a front page, the API root, a health check and the favicon."""

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


@require_GET
def front_page(request: HttpRequest) -> HttpResponse:
    return render(request, "front_page.html")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 while the database answers, 503 when it does not: what a load balancer polls."""
    try:
        connection.ensure_connection()
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "database": error.__class__.__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
@cache_control(max_age=86400)
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Browsers ask for /favicon.ico whatever the page says; resolved per request because the
    # hashed static name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("shelfsight/favicon.svg"))


class ApiRootView(APIView):
    """Where the storefront API begins: links to its endpoints and documentation."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        def link(name: str) -> str:
            return reverse(name, request=request)

        return Response(
            {
                "products": link("product-list"),
                "tags": link("tag-list"),
                "facets": link("facet-counts"),
                "recommendations": link("recommendations"),
                "schema": link("api-schema"),
                "docs": link("api-docs"),
            }
        )


class BrowserYamlRenderer(OpenApiYamlRenderer):
    """The same YAML under a text type, so a browser shows the schema instead of downloading it."""

    media_type = "text/yaml"
    charset = "utf-8"


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: YAML a browser displays, OpenAPI's own types by Accept, JSON by ?format=json."""

    renderer_classes = [BrowserYamlRenderer, OpenApiYamlRenderer, OpenApiJsonRenderer, OpenApiJsonRenderer2]
