"""The gateway's configuration (providers, deployments, routes) and its call log.

Staff edit the configuration in the admin; every save bumps a version number in Django's
cache so every process reloads its in-memory snapshot (see llm.config). With no rows at all
the gateway runs on the default provider read from settings (OPENAI_*), see docs/providers.md.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models


class Tier(models.TextChoices):
    BUDGET = "budget", "Budget"
    EFFICIENT = "efficient", "Efficient"
    PREMIUM = "premium", "Premium"


# Only variables named like a key may be read, so no one can point a provider at
# DJANGO_SECRET_KEY or a database password and have it sent as a bearer token.
api_key_env_name = RegexValidator(
    r"^[A-Z][A-Z0-9_]*_API_KEY$", "The name of an environment variable ending in _API_KEY (e.g. OPENAI_API_KEY)."
)


class Provider(models.Model):
    """An OpenAI-compatible endpoint. The key lives in the environment, never in the database."""

    name = models.SlugField(max_length=64, unique=True)
    base_url = models.URLField(
        max_length=300, blank=True, help_text="Blank: the OPENAI_BASE_URL setting, read at call time."
    )
    api_key_env = models.CharField(
        "API key environment variable",
        max_length=100,
        default="OPENAI_API_KEY",
        validators=[api_key_env_name],
        help_text="The NAME of the environment variable holding the key. OPENAI_API_KEY reads the setting.",
    )
    timeout = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.1)], help_text="Seconds; blank: SHELFSIGHT_LLM_TIMEOUT."
    )
    max_retries = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The SDK's own retries per model; blank: 2."
    )
    max_concurrency = models.PositiveIntegerField(
        default=16, validators=[MinValueValidator(1)], help_text="Concurrent calls per process."
    )
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


PRICE_HELP = "USD per million tokens. Blank: unknown, and the model is not called until it is set (0 for a free one)."


class ModelDeployment(models.Model):
    """One model at one provider, with its tier and price (USD per million tokens).

    A price left blank is unknown: the gateway never calls the model (its cost would be
    recorded, estimated and budgeted as $0) until staff set one.
    """

    name = models.CharField(max_length=128, help_text="The model name the provider expects.")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="deployments")
    tier = models.CharField(max_length=12, choices=Tier.choices, default=Tier.EFFICIENT)
    input_price_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)], help_text=PRICE_HELP
    )
    output_price_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)], help_text=PRICE_HELP
    )
    supports_vision = models.BooleanField(default=True)
    supports_json_schema = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="llm_deployment_unique_name")]
        ordering = ["provider__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.provider.name}"

    @property
    def has_price(self) -> bool:
        return self.input_price_per_mtok is not None and self.output_price_per_mtok is not None

    def clean(self) -> None:
        super().clean()
        if (self.input_price_per_mtok is None) != (self.output_price_per_mtok is None):
            raise ValidationError("Set both the input and the output price, or neither (the model is then not called).")


class Route(models.Model):
    """What callers name. ``fallback`` walks the chain; ``tiered`` starts at the request's tier."""

    class Strategy(models.TextChoices):
        FALLBACK = "fallback", "Primary, then the fallback chain"
        TIERED = "tiered", "Cheapest model of the request's tier, then the fallback chain"

    class OverBudget(models.TextChoices):
        DOWNGRADE = "downgrade", "Downgrade to the budget tier"
        REFUSE = "refuse", "Refuse (BudgetExceeded)"

    name = models.SlugField(max_length=64, unique=True)
    strategy = models.CharField(max_length=10, choices=Strategy.choices, default=Strategy.FALLBACK)
    default_tier = models.CharField(
        max_length=12, choices=Tier.choices, default=Tier.EFFICIENT, help_text="Tiered routes: tier when unspecified."
    )
    enabled = models.BooleanField(default=True)
    canary = models.ForeignKey(
        ModelDeployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="canary_routes"
    )
    canary_percent = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    daily_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    monthly_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    over_budget = models.CharField(max_length=10, choices=OverBudget.choices, default=OverBudget.REFUSE)
    canary_max_error_rate = models.FloatField(
        default=0.05, validators=[MinValueValidator(0), MaxValueValidator(1)], help_text="Over the last window calls."
    )
    canary_max_p95_ratio = models.FloatField(default=2.0, help_text="Canary p95 latency / primary p95 latency.")
    canary_window = models.PositiveIntegerField(default=100, validators=[MinValueValidator(10)])
    canary_min_calls = models.PositiveIntegerField(
        default=20, help_text="Calls the canary must have before it can be judged."
    )
    breaker_failures = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="Consecutive failures that open a model's circuit."
    )
    breaker_cooldown_seconds = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])

    def __str__(self) -> str:
        return self.name


class RouteStep(models.Model):
    """One link of a route's chain: position 1 is the primary (fallback routes)."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="steps")
    deployment = models.ForeignKey(ModelDeployment, on_delete=models.CASCADE, related_name="route_steps")
    position = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["route", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["route", "deployment"], name="llm_routestep_unique")]

    def __str__(self) -> str:
        return f"{self.route.name} #{self.position}: {self.deployment.name}"


class CanaryEvent(models.Model):
    """An automatic rollback (or a staff change) of a canary, with the numbers behind it."""

    class Kind(models.TextChoices):
        ROLLBACK = "rollback", "Automatic rollback"
        CHANGE = "change", "Percentage changed"

    route = models.CharField(max_length=64, db_index=True)
    model = models.CharField(max_length=128)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROLLBACK)
    previous_percent = models.PositiveSmallIntegerField(default=0)
    new_percent = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=300)
    calls = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    primary_p95_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.route}: {self.model} {self.previous_percent}% → {self.new_percent}%"


class LLMCall(models.Model):
    """One attempt at one model: the call log every spend and reliability figure is read from."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timeout"
        RATE_LIMITED = "rate_limited", "Rate limited"
        UNUSABLE = "unusable", "Unusable answer (refused by the caller)"
        SKIPPED = "skipped", "Skipped (circuit open or over budget)"

    class Arm(models.TextChoices):
        PRIMARY = "primary", "Primary"
        CANARY = "canary", "Canary"
        FALLBACK = "fallback", "Fallback"

    request_id = models.UUIDField(db_index=True, help_text="Shared by every attempt of one gateway request.")
    route = models.CharField(max_length=64, db_index=True)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128, db_index=True)
    tier = models.CharField(max_length=12, blank=True)
    tier_reason = models.CharField(max_length=200, blank=True)
    arm = models.CharField(max_length=10, choices=Arm.choices, default=Arm.PRIMARY)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Position in the fallback chain, from 1.")
    latency_ms = models.FloatField(default=0)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField("cost (USD)", max_digits=12, decimal_places=6, default=0)
    outcome = models.CharField(max_length=14, choices=Outcome.choices, db_index=True)
    error_class = models.CharField(max_length=100, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    fallback_reason = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "model call"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["route", "created_at"], name="llmcall_route_created"),
            models.Index(fields=["route", "arm", "model", "-id"], name="llmcall_route_arm_model"),
        ]

    def __str__(self) -> str:
        return f"{self.route} → {self.model} ({self.outcome})"
