"""Shared OpenAPI error responses, so every endpoint documents the same error shapes."""

from drf_spectacular.utils import OpenApiResponse

from catalog.api.serializers import ErrorSerializer

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such item, or not visible to this client.")
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests; retry after `Retry-After` seconds.")
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No or invalid token (`Authorization: Token <key>`).")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="The token's user lacks the permission this needs.")
BAD_REQUEST = OpenApiResponse(description="Invalid input; the body maps each field to its errors.")

READ_ERRORS = {429: THROTTLED}
WRITE_ERRORS = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}
