"""Re-tagging: newer analyses supersede machine tags, human decisions stay, history is kept."""

from catalog.services import add_product_image
from tagging import services
from tagging.models import ImageAnalysis, ProductTag, ProductTagEvent, Tag
from tests.factories import ProductFactory, image_upload
from tests.tagging.conftest import full_answer


def _tag(product, facet, slug):
    return ProductTag.objects.get(product=product, tag__facet=facet, tag__slug=slug)


def test_forced_retag_supersedes_machine_tags_missing_from_the_new_answer(product_image, provider_settings, answering):
    product = product_image.product
    answering(full_answer())
    first = services.analyze_image(image_id=product_image.pk)
    answering(full_answer(co="red 96"))

    second = services.analyze_image(image_id=product_image.pk, force=True)

    assert second.pk != first.pk
    navy = _tag(product, "colour", "navy")
    assert navy.status == ProductTag.Status.SUPERSEDED
    event = navy.events.first()
    assert (event.action, event.analysis_id, event.status_before) == ("superseded", second.pk, "applied")
    assert _tag(product, "colour", "red").status == ProductTag.Status.APPLIED


def test_retag_never_changes_human_approved_or_rejected_tags(product_image, provider_settings, answering, admin_user):
    product = product_image.product
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)
    casual = _tag(product, "style", "casual")
    navy = _tag(product, "colour", "navy")
    services.approve_tags(product_tag_ids=[casual.pk], reviewer=admin_user)
    services.reject_tags(product_tag_ids=[navy.pk], reviewer=admin_user)
    answering(full_answer(co="navy 99", s="formal 97"))

    services.analyze_image(image_id=product_image.pk, force=True)

    casual.refresh_from_db()
    navy.refresh_from_db()
    assert (casual.status, casual.reviewed_by) == (ProductTag.Status.APPLIED, admin_user)
    assert (navy.status, navy.confidence) == (ProductTag.Status.REJECTED, 0.93)


def test_retag_keeps_a_human_added_tag(product_image, provider_settings, answering, admin_user):
    product = product_image.product
    handmade = Tag.objects.get(facet="style", slug="handcrafted")
    services.add_human_tag(product=product, tag=handmade, actor=admin_user)
    answering(full_answer())

    services.analyze_image(image_id=product_image.pk, force=True)

    row = ProductTag.objects.get(product=product, tag=handmade)
    assert (row.source, row.status) == (ProductTag.Source.HUMAN, ProductTag.Status.APPLIED)


def test_every_change_of_a_product_tag_is_in_its_history(product_image, provider_settings, answering, admin_user):
    answering(full_answer())
    first = services.analyze_image(image_id=product_image.pk)
    casual = _tag(product_image.product, "style", "casual")
    services.approve_tags(product_tag_ids=[casual.pk], reviewer=admin_user)

    history = list(casual.events.order_by("created_at", "id").values_list("action", "analysis_id", "actor_id", "model"))

    assert history == [
        (ProductTagEvent.Action.PROPOSED, first.pk, None, "gemini-2.5-flash"),
        (ProductTagEvent.Action.APPROVED, first.pk, admin_user.pk, "gemini-2.5-flash"),
    ]


def test_an_image_with_bytes_already_analysed_reuses_that_analysis_at_no_cost(
    product_image, provider_settings, answering, model_server
):
    answering(full_answer())
    original = services.analyze_image(image_id=product_image.pk)
    other_product = ProductFactory()
    copy = add_product_image(product=other_product, upload=image_upload(size=(640, 480), colour=(30, 40, 120)))

    reused = services.analyze_image(image_id=copy.pk)

    assert reused.reused_from_id == original.pk
    assert (reused.cost_usd, reused.input_tokens, reused.output_tokens) == (0, 0, 0)
    assert len(model_server.chat_requests) == 1
    assert ProductTag.objects.filter(product=other_product, tag__slug="navy").exists()


def test_reuse_takes_the_newest_analysis_of_the_same_bytes(product_image, provider_settings, answering):
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)
    newest = services.analyze_image(image_id=product_image.pk, force=True)
    copy = add_product_image(product=ProductFactory(), upload=image_upload(size=(640, 480), colour=(30, 40, 120)))

    reused = services.analyze_image(image_id=copy.pk)

    assert reused.reused_from_id == newest.pk


def test_reuse_takes_only_a_succeeded_original_analysis_of_the_same_bytes(product_image, provider_settings, answering):
    from datetime import timedelta

    from django.utils import timezone

    answering(full_answer())
    original = services.analyze_image(image_id=product_image.pk)
    same_bytes = {"size": (640, 480), "colour": (30, 40, 120)}
    first_copy = add_product_image(product=ProductFactory(), upload=image_upload(**same_bytes))
    assert services.analyze_image(image_id=first_copy.pk).reused_from_id == original.pk  # newer, but a reuse
    ImageAnalysis.objects.create(
        image=product_image,
        status=ImageAnalysis.Status.FAILED,
        analyser=services.PROVIDER_ANALYSER,
        finished_at=timezone.now() + timedelta(hours=1),
    )
    second_copy = add_product_image(product=ProductFactory(), upload=image_upload(**same_bytes))

    reused = services.analyze_image(image_id=second_copy.pk)

    assert reused.reused_from_id == original.pk


def test_reuse_takes_the_newest_original_whichever_image_it_belongs_to(product_image, provider_settings, answering):
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)
    same_bytes = {"size": (640, 480), "colour": (30, 40, 120)}
    second = add_product_image(product=ProductFactory(), upload=image_upload(**same_bytes))
    newest = services.analyze_image(image_id=second.pk, force=True)
    third = add_product_image(product=ProductFactory(), upload=image_upload(**same_bytes))

    reused = services.analyze_image(image_id=third.pk)

    assert newest.reused_from_id is None
    assert reused.reused_from_id == newest.pk


def test_enqueue_retag_queues_forced_analyses_that_run_after_commit(
    product_image, provider_settings, answering, model_server, sync_tasks, django_capture_on_commit_callbacks
):
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)

    with django_capture_on_commit_callbacks(execute=True):
        queued = services.enqueue_retag(image_ids=[product_image.pk, product_image.pk])

    assert queued == 1
    assert len(model_server.chat_requests) == 2
    assert ImageAnalysis.objects.filter(image=product_image, status="succeeded").count() == 2
    assert not ImageAnalysis.objects.filter(status="queued").exists()


def test_an_analysis_left_running_past_the_lease_is_queued_again_and_finished(
    product_image, provider_settings, answering, sync_tasks
):
    from datetime import timedelta

    from django.utils import timezone

    answering(full_answer())
    stuck = ImageAnalysis.objects.create(
        image=product_image, status="running", attempts=1, started_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.retry_due_analyses() == 0  # a minute old: its run may still be alive

    requeued = services.retry_due_analyses(now=timezone.now() + timedelta(seconds=services.lease_seconds()))

    stuck.refresh_from_db()
    assert requeued == 1
    assert stuck.status == ImageAnalysis.Status.SUCCEEDED
    assert stuck.attempts == 2


def test_an_analysis_left_running_with_every_attempt_used_fails_as_interrupted(product_image):
    from datetime import timedelta

    from django.utils import timezone

    stuck = ImageAnalysis.objects.create(
        image=product_image,
        status="running",
        attempts=services.max_attempts(),
        started_at=timezone.now() - timedelta(hours=1),
    )

    assert services.retry_due_analyses() == 0
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_class, stuck.next_attempt_at) == ("failed", "AnalysisInterrupted", None)


def test_merge_moves_product_tags_and_makes_the_source_a_synonym(
    product_image, provider_settings, answering, admin_user
):
    answering(full_answer(m="hand-loomed ikat silk 95"))
    services.analyze_image(image_id=product_image.pk)
    proposed = Tag.objects.get(slug="hand-loomed-ikat-silk")
    silk = Tag.objects.get(facet="material", slug="silk")

    moved = services.merge_tags(source=proposed, target=silk, actor=admin_user)

    assert moved == 1
    assert ProductTag.objects.filter(product=product_image.product, tag=silk).exists()
    assert not Tag.objects.filter(pk=proposed.pk).exists()
    from tagging import vocabulary

    assert vocabulary.lookup(facet="material", value="Hand-loomed ikat silk") == silk


def test_accepting_a_proposed_tag_applies_its_confident_product_tags(
    product_image, provider_settings, answering, admin_user
):
    answering(full_answer(m="hand-loomed ikat silk 95"))
    services.analyze_image(image_id=product_image.pk)
    proposed = Tag.objects.get(slug="hand-loomed-ikat-silk")

    services.accept_proposed_tag(tag=proposed, actor=admin_user)

    assert ProductTag.objects.get(tag=proposed).status == ProductTag.Status.APPLIED


def test_lost_queued_analyses_get_tasks_again_one_per_batch(product, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import OrmQ

    from catalog.services import add_product_image
    from tests.factories import image_upload

    monkeypatch.setattr("tagging.queueing.BATCH_SIZE", 4)
    images = [add_product_image(product=product, upload=image_upload(colour=(index * 25, 9, 9))) for index in range(10)]
    for image in images[:9]:
        ImageAnalysis.objects.create(image=image, status="queued")
    ImageAnalysis.objects.create(image=images[9], status="queued", force=True, route="vision-premium")
    later = timezone.now() + timedelta(seconds=services.lease_seconds() + 1)

    assert services.retry_due_analyses(now=later) == 10

    carried = [row.task["args"][0] for row in OrmQ.objects.order_by("id")]
    assert [len(batch) for batch in carried] == [4, 4, 2]
    assert sorted(pk for batch in carried for pk in batch) == sorted(ImageAnalysis.objects.values_list("pk", flat=True))
    assert ImageAnalysis.objects.filter(status="queued", next_attempt_at=later).count() == 10
    assert services.retry_due_analyses(now=later) == 0  # not again until another lease has passed


def test_a_staff_decision_is_never_overwritten_by_a_later_analysis(
    product_image, provider_settings, answering, admin_user
):
    product = product_image.product
    answering(full_answer())
    services.analyze_image(image_id=product_image.pk)
    navy = _tag(product, "colour", "navy")
    services.reject_tags(product_tag_ids=[navy.pk], reviewer=admin_user)
    second = add_product_image(product=product, upload=image_upload(colour=(200, 10, 10)))
    answering(full_answer(co="navy 99"))

    analysis = services.analyze_image(image_id=second.pk)

    navy.refresh_from_db()
    assert (navy.status, navy.reviewed_by_id) == (ProductTag.Status.REJECTED, admin_user.pk)
    assert not navy.events.filter(action=ProductTagEvent.Action.UPDATED).exists()
    others = ProductTag.objects.filter(product=product).exclude(pk=navy.pk)
    assert set(others.values_list("analysis_id", flat=True)) == {analysis.pk}
