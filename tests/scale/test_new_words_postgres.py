"""Batches recorded side by side on PostgreSQL that meet the same new words.

Each answer carries the same unknown words in its own order. Proposed inside two batches'
transactions, such words made each wait on the other's unique-index entry until PostgreSQL
broke the deadlock by failing one batch."""

import json
import random
import threading

import pytest
from django.db import connections

from catalog.services import add_product_image
from tagging import services
from tagging.analysis import schema as answer_schema
from tagging.machine_tags import MAX_TAGS_PER_IMAGE
from tagging.models import ImageAnalysis, Tag
from tagging.queueing import enqueue_analyses
from tests.factories import ProductFactory, image_upload

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]

BATCHES, BATCH_SIZE, ROUNDS = 2, 4, 3


def new_words_in_random_order(round_number: int):
    """Every facet gets a word the vocabulary does not know; confidences, and so the order in
    which the words are written, differ from answer to answer."""

    def answer(body: dict) -> str:
        attributes = [
            f"unseen {facet} {round_number} {random.randint(60, 99)}" for facet in answer_schema.ATTRIBUTE_FACETS
        ]
        keywords = [f"unseen keyword {letter} {round_number} 50" for letter in "abcde"]
        return json.dumps(
            {
                answer_schema.ATTRIBUTES_KEY: attributes,
                answer_schema.KEYWORD_KEY: keywords,
                answer_schema.PROHIBITED_KEY: [],
            }
        )

    return answer


def run_side_by_side(batches: list[list[int]]) -> list[BaseException]:
    start, errors = threading.Barrier(len(batches)), []

    def run(analysis_ids: list[int]) -> None:
        start.wait()
        try:
            services.run_analyses(analysis_ids=analysis_ids)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_batches_meeting_the_same_new_words_all_record(
    assert_scale_backends, provider_settings, model_server, redis_broker
):
    try:
        for round_number in range(ROUNDS):
            model_server.answer = new_words_in_random_order(round_number)
            images = [
                add_product_image(
                    product=ProductFactory(), upload=image_upload(colour=(round_number * 60, index * 25, 160))
                ).pk
                for index in range(BATCHES * BATCH_SIZE)
            ]
            ImageAnalysis.objects.all().delete()  # the uploads' own analyses: this test runs the batches
            queued = [analysis.pk for analysis in enqueue_analyses(image_ids=images)]

            errors = run_side_by_side([queued[i : i + BATCH_SIZE] for i in range(0, len(queued), BATCH_SIZE)])

            assert errors == []
            statuses = set(ImageAnalysis.objects.filter(pk__in=queued).values_list("status", flat=True))
            assert statuses == {ImageAnalysis.Status.SUCCEEDED}, (
                ImageAnalysis.objects.filter(pk__in=queued)
                .exclude(status=ImageAnalysis.Status.SUCCEEDED)
                .values_list("error", flat=True)
            )
            proposed = Tag.objects.filter(slug__startswith="unseen-", slug__endswith=f"-{round_number}")
            assert proposed.count() == MAX_TAGS_PER_IMAGE
    finally:
        services.release_analysis_threads()
