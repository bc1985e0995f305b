from django.db import models

from catalog.models import Product


class SimilarProduct(models.Model):
    """One precomputed neighbour of a product, so a similar-products read is one indexed query.

    Lists are rebuilt by recommendations.services (on tag changes and in bulk); held and
    draft neighbours are filtered out when read, so a hold takes effect at once.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
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
        indexes = [models.Index(fields=["neighbour"], name="similar_product_neighbour")]

    def __str__(self) -> str:
        return f"{self.product_id} → {self.neighbour_id} #{self.rank} ({self.score:.3f})"
