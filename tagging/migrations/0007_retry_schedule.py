"""Every minute: retry failed analyses whose retry is due, and re-queue the work of lost tasks
(a worker killed mid-run, or a Redis broker that dropped an in-flight task: it has no delivery
receipts). Replaces the five-minute sweep of 0004."""

from django.db import migrations

NAME = "tagging: retry due analyses"
OLD_NAME = "tagging: sweep stuck analyses"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name=OLD_NAME).delete()
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "tagging.tasks.retry_due_analyses_task",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("tagging", "0006_analysis_retries")]
    operations = [migrations.RunPython(create, remove)]
