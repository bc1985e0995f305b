"""Every five minutes, re-queue analyses whose task was lost (a worker killed mid-run, or a
Redis broker that dropped an in-flight task: it has no delivery receipts)."""

from django.db import migrations

NAME = "tagging: sweep stuck analyses"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "tagging.tasks.sweep_stuck_analyses_task",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tagging", "0003_default_vocabulary"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
