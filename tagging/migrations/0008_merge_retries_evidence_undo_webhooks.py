from django.db import migrations


class Migration(migrations.Migration):
    """Joins four changes made side by side: analysis retries, tag evidence, undone decisions and
    webhook delivery records."""

    dependencies = [
        ("tagging", "0007_retry_schedule"),
        ("tagging", "0006_producttag_evidence"),
        ("tagging", "0006_product_tag_event_undone"),
        ("tagging", "0006_webhook_deliveries"),
    ]

    operations = []
