from django.db import models

from catalog.models import Product


class SimilarProduct(models.Model):
    """One precomputed neighbour of a product, so a similar-products read is one indexed query.

    Lists are rebuilt by recommendations.services (on tag changes and in bulk); held and
    draft neighbours are filtered out when read, so a hold takes effect at once.
    """

    # No index of its own: the unique constraints below start with it. Each refresh rewrites
    # hundreds of these rows, so every index spared is work spared on every write.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    neighbour = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField(help_text="1 is the most similar.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["product", "rank"], name="similar_product_unique_rank"),
            models.UniqueConstraint(fields=["product", "neighbour"], name="similar_product_unique_neighbour"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} → {self.neighbour_id} #{self.rank} ({self.score:.3f})"


class TagWeight(models.Model):
    """How many active products carry a tag, and the idf weight that follows (see similarity.py).

    Written by the bulk rebuild (and ``refresh_tag_weights``), so a session's tag profile is
    weighed with one indexed read instead of counting the tag table per request.
    """

    tag = models.OneToOneField("tagging.Tag", on_delete=models.CASCADE, primary_key=True, related_name="+")
    document_frequency = models.PositiveIntegerField()
    weight = models.FloatField()
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tag_id}: df {self.document_frequency}, idf {self.weight:.3f}"
