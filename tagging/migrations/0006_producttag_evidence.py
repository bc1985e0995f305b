from django.db import migrations, models


def machine_tags_so_far_came_from_images(apps, schema_editor):
    # Before this field every machine tag was read from an image; staff-added tags stay blank.
    ProductTag = apps.get_model("tagging", "ProductTag")
    ProductTag.objects.filter(source="ai").update(evidence="vision")


class Migration(migrations.Migration):
    dependencies = [
        ("tagging", "0005_analysis_queue"),
    ]

    operations = [
        migrations.AddField(
            model_name="producttag",
            name="evidence",
            field=models.CharField(
                blank=True,
                choices=[("vision", "Image"), ("text", "Product text")],
                help_text="What a machine found the tag in: the image, or the product's title and description. "
                "Blank for tags staff added.",
                max_length=6,
                verbose_name="found in",
            ),
        ),
        migrations.RunPython(machine_tags_so_far_came_from_images, migrations.RunPython.noop),
    ]
