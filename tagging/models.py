import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Product, ProductImage


class Facet(models.TextChoices):
    CATEGORY = "category", "Category"
    COLOUR = "colour", "Colour"
    MATERIAL = "material", "Material"
    STYLE = "style", "Style"
    PATTERN = "pattern", "Pattern"
    SEASON = "season", "Season"
    KEYWORD = "keyword", "Keyword"


class TagQuerySet(models.QuerySet):
    def canonical(self) -> "TagQuerySet":
        return self.filter(status=Tag.Status.CANONICAL)


class Tag(models.Model):
    """One value of the controlled vocabulary, e.g. colour "navy" under "blue"."""

    class Status(models.TextChoices):
        CANONICAL = "canonical", "Canonical"
        PROPOSED = "proposed", "Proposed (waiting for staff)"

    facet = models.CharField(max_length=10, choices=Facet.choices, db_index=True)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANONICAL, db_index=True)
    proposed_by_analysis = models.ForeignKey(
        "ImageAnalysis", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_tags"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["facet", "name"]
        constraints = [models.UniqueConstraint(fields=["facet", "slug"], name="tag_unique_slug_per_facet")]

    def __str__(self) -> str:
        return f"{self.get_facet_display()}: {self.name}"


class TagSynonym(models.Model):
    """Another spelling of a tag, stored normalised (see tagging.vocabulary.normalise)."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="synonyms")
    facet = models.CharField(max_length=10, choices=Facet.choices)
    text = models.CharField(max_length=100)

    class Meta:
        ordering = ["facet", "text"]
        constraints = [models.UniqueConstraint(fields=["facet", "text"], name="synonym_unique_text_per_facet")]

    def __str__(self) -> str:
        return f"{self.text} → {self.tag.name}"


class ImageAnalysisQuerySet(models.QuerySet):
    def queued(self) -> "ImageAnalysisQuerySet":
        """Waiting for a task to run them."""
        return self.filter(status=ImageAnalysis.Status.QUEUED)

    def running(self) -> "ImageAnalysisQuerySet":
        return self.filter(status=ImageAnalysis.Status.RUNNING)

    def pending(self) -> "ImageAnalysisQuerySet":
        """Queued or running: an analysis that will still produce an outcome."""
        return self.filter(status__in=ImageAnalysis.PENDING)

    def succeeded(self) -> "ImageAnalysisQuerySet":
        return self.filter(status=ImageAnalysis.Status.SUCCEEDED)

    def failed(self) -> "ImageAnalysisQuerySet":
        """Failed, whether a retry is still to come or not (see retrying)."""
        return self.filter(status=ImageAnalysis.Status.FAILED)

    def retrying(self) -> "ImageAnalysisQuerySet":
        """Failed with a cause a retry may cure, and a retry is due at ``next_attempt_at``."""
        return self.failed().filter(next_attempt_at__isnull=False)


class ImageAnalysis(models.Model):
    """One analysis of one image: what was asked, of which model, and what came back.

    States (docs/tagging.md): queued → running → succeeded, or failed; a failed analysis whose
    cause a retry may cure is queued again by itself at ``next_attempt_at``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    PENDING = (Status.QUEUED, Status.RUNNING)

    class Workflow(models.TextChoices):
        FULL = "full", "Full"
        ATTRIBUTES = "attributes", "Attributes"
        QUALITY = "quality", "Quality"
        PROHIBITED = "prohibited", "Prohibited content"

    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="analyses")
    workflow = models.CharField(max_length=12, choices=Workflow.choices, default=Workflow.FULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    analyser = models.CharField(max_length=20, help_text="'provider' or 'local'.", blank=True)
    route = models.CharField(max_length=64, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=128, blank=True, db_index=True)
    arm = models.CharField(max_length=16, blank=True, help_text="primary, canary or fallback.")
    fallback_reason = models.CharField(max_length=200, blank=True)
    llm_request_id = models.CharField("gateway request id", max_length=64, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs so far, each one billed at most once.")
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Queued: since when it is due. Failed: when it is retried by itself (blank: it is not).",
    )
    claim = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="The queueing or run that took it last."
    )
    force = models.BooleanField(default=False, help_text="Asked for even though a finished analysis existed.")
    queue = models.CharField(
        max_length=64, blank=True, help_text="The task queue whose tasks answer for it; blank: the default queue."
    )
    latency_ms = models.FloatField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField("cost (USD)", max_digits=12, decimal_places=6, default=0)
    raw_response = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True, help_text="The validated answer.")
    quality_score = models.FloatField(null=True, blank=True, help_text="0–10, computed locally.")
    quality_report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_class = models.CharField(max_length=100, blank=True)
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reused_by")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImageAnalysisQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "image analyses"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["image", "status"], name="analysis_image_status")]
        constraints = [
            # Two paths asking at once (an upload's signal and a backfill) get one analysis, not two.
            models.UniqueConstraint(
                fields=["image", "workflow"],
                condition=models.Q(status__in=["queued", "running"]),
                name="analysis_one_pending_per_image",
            )
        ]

    def __str__(self) -> str:
        return f"Analysis {self.pk} of image {self.image_id} ({self.status})"


class ProductTagQuerySet(models.QuerySet):
    def applied(self) -> "ProductTagQuerySet":
        """On the product, visible to the storefront."""
        return self.filter(status=ProductTag.Status.APPLIED)

    def waiting(self) -> "ProductTagQuerySet":
        """Proposed by a machine, waiting for a staff decision."""
        return self.filter(status=ProductTag.Status.NEEDS_REVIEW)


class ProductTag(models.Model):
    """A tag on a product, with where it came from and what staff decided about it."""

    class Source(models.TextChoices):
        AI = "ai", "AI"
        HUMAN = "human", "Human"

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        NEEDS_REVIEW = "needs_review", "Needs review"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    class Band(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    class Evidence(models.TextChoices):
        VISION = "vision", "Image"
        TEXT = "text", "Product text"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="product_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="product_tags")
    confidence = models.FloatField(default=1.0)
    band = models.CharField(max_length=6, choices=Band.choices, default=Band.HIGH)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.AI)
    evidence = models.CharField(
        "found in",
        max_length=6,
        choices=Evidence.choices,
        blank=True,
        help_text="What a machine found the tag in: the image, or the product's title and description. "
        "Blank for tags staff added.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    analysis = models.ForeignKey(
        ImageAnalysis, null=True, blank=True, on_delete=models.SET_NULL, related_name="product_tags"
    )
    image = models.ForeignKey(
        ProductImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="product_tags"
    )
    model = models.CharField(max_length=128, blank=True, help_text="The model that proposed it, if any.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductTagQuerySet.as_manager()

    class Meta:
        ordering = ["product", "tag__facet", "-confidence"]
        constraints = [models.UniqueConstraint(fields=["product", "tag"], name="product_tag_unique")]
        indexes = [
            models.Index(fields=["tag", "status"], name="product_tag_tag_status"),
            models.Index(fields=["status", "created_at"], name="product_tag_review_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku}: {self.tag} ({self.status})"

    @property
    def is_human_decision(self) -> bool:
        """Staff have decided on this tag; machines must leave it alone."""
        return self.source == self.Source.HUMAN or self.reviewed_by_id is not None or self.reviewed_at is not None


class ProductTagEvent(models.Model):
    """The audit trail of a product tag: every change, who or what made it, from which analysis."""

    class Action(models.TextChoices):
        APPLIED = "applied", "Applied"
        PROPOSED = "proposed", "Proposed for review"
        UPDATED = "updated", "Updated by a newer analysis"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"
        MERGED = "merged", "Moved by a tag merge"
        ADDED = "added", "Added by staff"
        UNDONE = "undone", "Decision undone by staff"

    product_tag = models.ForeignKey(ProductTag, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=12, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    analysis = models.ForeignKey(ImageAnalysis, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model = models.CharField(max_length=128, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    status_before = models.CharField(max_length=12, blank=True)
    status_after = models.CharField(max_length=12, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.product_tag_id} {self.action}"


class FlagQuerySet(models.QuerySet):
    def open(self) -> "FlagQuerySet":
        """Not yet cleared by staff."""
        return self.filter(status=Flag.Status.OPEN)


class Flag(models.Model):
    """Something staff must look at: poor photo quality or possibly prohibited content."""

    class Kind(models.TextChoices):
        QUALITY = "quality", "Low quality"
        PROHIBITED = "prohibited", "Prohibited content"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLEARED = "cleared", "Cleared"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="flags")
    image = models.ForeignKey(ProductImage, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    analysis = models.ForeignKey(ImageAnalysis, null=True, blank=True, on_delete=models.SET_NULL, related_name="flags")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=40, help_text="e.g. weapons, blurry, overexposed.")
    confidence = models.FloatField(default=1.0)
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FlagQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "kind", "reason"],
                condition=models.Q(status="open"),
                name="flag_one_open_per_image_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason} on {self.product_id}"


class WebhookDelivery(models.Model):
    """One event for the webhook receiver; each try to send it is a WebhookAttempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        REFUSED = "refused", "Refused by the receiver"
        FAILED = "failed", "Failed (retries used up)"

    # Sent and signed with every attempt, so a receiver can tell a retry or a replay from a new event.
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    # The retry schedule counts the attempts made since this time; a replay starts it again.
    queued_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the receiver answered (or why nothing was), and how long it took."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.outcome} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
