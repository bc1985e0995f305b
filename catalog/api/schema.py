"""Shared OpenAPI error responses, so every endpoint documents the same error shapes."""

from drf_spectacular.utils import OpenApiResponse

from catalog.api.serializers import ErrorSerializer

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such item, or not visible to this client.")
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests; retry after `Retry-After` seconds.")
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No or invalid token (`Authorization: Token <key>`).")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="The token's user lacks the permission this needs.")
BAD_REQUEST = OpenApiResponse(description="Invalid input; the body maps each field to its errors.")
BAD_QUERY = OpenApiResponse(
    description="A query parameter is invalid or past its bounds; the body maps each parameter to its errors."
)
INVALID_CURSOR = OpenApiResponse(ErrorSerializer, description="The `cursor` is not one this API gave out.")
# Answered by the HTTP server in front of Django (gunicorn: request lines over 4,094 bytes).
URI_TOO_LONG = OpenApiResponse(description="The URL is longer than the server accepts.")

READ_ERRORS = {414: URI_TOO_LONG, 429: THROTTLED}
LIST_ERRORS = {400: BAD_QUERY, **READ_ERRORS}
WRITE_ERRORS = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN, 414: URI_TOO_LONG, 429: THROTTLED}
