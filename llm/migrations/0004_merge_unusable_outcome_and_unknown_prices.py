from django.db import migrations


class Migration(migrations.Migration):
    """Joins two changes made side by side: the "unusable" call outcome and blank (unknown) prices."""

    dependencies = [
        ("llm", "0003_llmcall_outcome_unusable"),
        ("llm", "0003_unknown_prices_are_blank"),
    ]

    operations = []
