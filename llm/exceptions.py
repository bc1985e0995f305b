class GatewayError(Exception):
    """Base for every error the model gateway raises to its callers."""


class ProviderUnavailable(GatewayError):
    """No model on the route could answer: every attempt failed or was skipped."""


class BudgetExceeded(GatewayError):
    """The route's spend cap is reached and it is configured to refuse rather than downgrade."""


class RouteNotConfigured(GatewayError):
    """The named route does not exist or has no enabled model."""


class PriceUnknown(RouteNotConfigured):
    """No model of the route has a price staff set: it would be called, and costed, at $0."""
