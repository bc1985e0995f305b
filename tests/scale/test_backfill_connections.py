"""The in-process backfill on PostgreSQL: one connection per pool thread, all closed at the end
(a new PostgreSQL connection per image cost the server more CPU than the analysis itself)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.backends.signals import connection_created

from catalog.services import add_product_image
from tagging.models import ImageAnalysis
from tests.factories import ProductFactory, image_upload
from tests.reliability.model_answers import tagging_answer
from tests.scale.conftest import wait_for

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]


def backends_of_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_in_process_backfill_keeps_one_connection_per_thread_and_closes_them(
    assert_scale_backends, provider_settings, model_server, redis_broker
):
    model_server.answer = tagging_answer
    for index in range(12):
        add_product_image(product=ProductFactory(), upload=image_upload(colour=(index * 20, 30, 40)))
    backends_before = backends_of_this_database()
    opened = []

    def note(sender, connection, **kwargs):
        opened.append(connection)

    connection_created.connect(note)
    try:
        call_command("backfill_tags", "--concurrency", "3", "--no-progress", stdout=io.StringIO())
    finally:
        connection_created.disconnect(note)

    assert ImageAnalysis.objects.filter(status="succeeded").count() == 12
    assert 1 <= len(opened) <= 3  # one per pool thread, not one per image
    # The threads' connections were closed (a server process leaves the list a moment later).
    wait_for(lambda: backends_of_this_database() <= backends_before, timeout=10)
