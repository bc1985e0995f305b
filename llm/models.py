from django.db import models


class LLMCall(models.Model):
    """One attempt at one model: the call log every spend and reliability figure is read from."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timeout"
        RATE_LIMITED = "rate_limited", "Rate limited"
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
        indexes = [models.Index(fields=["route", "created_at"], name="llmcall_route_created")]

    def __str__(self) -> str:
        return f"{self.route} → {self.model} ({self.outcome})"
