"""Images against a model server that misbehaves the way providers do (run by
test_fault_injection.py in a process with a file database).

30% 429 with Retry-After, 10% 500, 5% hangs past the client timeout, 5% truncated JSON. The
images are queued by ``backfill_tags`` and analysed by its tasks (inline here: a batch of 16
per task, their calls side by side), down a route of three models. Then the retry schedule runs
as it would 1 min, 10 min and 1 h later (the clock injected). Afterwards every image is
tagged, none was sent to the provider more often than the retry policy allows, and each was
billed for one answer.

FAULT_IMAGES in the environment sets the size (200 in the suite; bench/fault_recovery.py runs 1,000).
"""

import io
import os
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone
from django_q.conf import Conf
from PIL import Image

from catalog.models import ProductImage
from llm.models import LLMCall, ModelDeployment, Provider, Route, RouteStep
from tagging import services
from tagging.models import ImageAnalysis, ProductTag
from tests.factories import ProductFactory
from tests.fakes.openai_server import FakeOpenAIServer, FaultMix
from tests.reliability.model_answers import tagging_answer

IMAGES = int(os.environ.get("FAULT_IMAGES", "200"))
# Three models, as a route with fallbacks has: at 50 % faults a failed attempt is then rare
# enough that four attempts tag every image, so the check can demand all of them.
CHAIN = ("gemini-2.5-flash", "gpt-4.1", "claude-sonnet-4.5")
SDK_RETRIES = 2  # the production default: the SDK retries 429/5xx/timeouts itself, honouring Retry-After
PROVIDER_FAULTS = FaultMix(rate_limited=0.30, server_error=0.10, hang=0.05, truncated=0.05, retry_after=0.05, seed=7)

pytestmark = pytest.mark.slow


def distinct_jpeg(index: int) -> bytes:
    """A small JPEG whose bytes differ from every other index (no analysis reuse by hash)."""
    image = Image.new("RGB", (48, 48), (index % 256, (index // 256) * 40 % 256, 90))
    image.putpixel((index % 48, (index // 48) % 48), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def make_catalog(count: int) -> list[int]:
    products = ProductFactory.create_batch(count)
    rows = []
    for index in range(count):
        content = distinct_jpeg(index)
        rows.append(
            ProductImage(
                product=products[index],
                image=f"products/fault-{index}.jpg",
                sha256=f"{index:064x}",
                width=48,
                height=48,
                format="JPEG",
                file_size=len(content),
                position=0,
            )
        )
        rows[-1].image.storage.save(rows[-1].image.name, io.BytesIO(content))
    # bulk_create sends no post_save: these images are backfilled, not queued by the upload signal.
    return [image.pk for image in ProductImage.objects.bulk_create(rows)]


def make_route() -> None:
    provider = Provider.objects.create(name="faulty", api_key_env="OPENAI_API_KEY", max_retries=SDK_RETRIES)
    route = Route.objects.create(name="vision-tagging")
    for position, model in enumerate(CHAIN, start=1):
        deployment = ModelDeployment.objects.create(
            name=model, provider=provider, input_price_per_mtok=Decimal("0.30"), output_price_per_mtok=Decimal("2.50")
        )
        RouteStep.objects.create(route=route, deployment=deployment, position=position)


@pytest.fixture(scope="module")
def faulty_provider(tmp_path_factory):
    with FakeOpenAIServer(models=CHAIN, hang_seconds=3) as server:
        server.answer = tagging_answer
        server.set_faults(PROVIDER_FAULTS)
        with override_settings(
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-test-faults",
            SHELFSIGHT_LLM_TIMEOUT=0.3,
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        ):
            yield server


@pytest.fixture(scope="module")
def file_database(django_db_blocker, django_db_modify_db_settings):
    """The test database, made here: no test is marked django_db, so pytest-django makes none,
    and no test wraps the run in a transaction that would hold SQLite's write lock."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="module")
def analysed_under_faults(file_database, django_db_blocker, faulty_provider):
    """One run for the whole module: this process's file database is thrown away afterwards."""
    # Tasks run inline, as a worker would run them: django-q2 reads Conf, the project settings.
    previous, Conf.SYNC = Conf.SYNC, True
    try:
        with django_db_blocker.unblock(), override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "sync": True}):
            make_route()
            image_ids = make_catalog(IMAGES)
            call_command("backfill_tags", "--no-progress", "--max-waiting", "0", stdout=io.StringIO())
            first_round = Counter(ImageAnalysis.objects.values_list("status", flat=True))
            retried = []
            for delay in services.RETRY_DELAYS:
                cache.clear()  # the breaker's one-minute cooldown is long over when a retry is due
                retried.append(services.retry_due_analyses(now=timezone.now() + timedelta(seconds=delay + 1)))
                still_failed = list(ImageAnalysis.objects.failed().values_list("error", flat=True)[:5])
                print("failed after the round:", still_failed)
    finally:
        Conf.SYNC = previous
    print("after the first round:", dict(first_round), "retried per round:", retried)
    return image_ids, first_round, retried


@pytest.fixture(autouse=True)
def isolated_media():
    """Overrides the suite's per-test MEDIA_ROOT: every test here looks at the module's one run."""


@pytest.fixture(autouse=True)
def database(django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_the_faults_failed_images_at_first_and_the_retries_took_them_up(analysed_under_faults):
    _, first_round, retried = analysed_under_faults
    assert first_round["failed"] > 0, first_round
    assert retried[0] == first_round["failed"]


def test_once_retries_ran_every_image_is_tagged_by_the_provider(analysed_under_faults):
    image_ids, _, _ = analysed_under_faults
    outcomes = Counter(ImageAnalysis.objects.values_list("status", "error_class"))
    assert set(ImageAnalysis.objects.values_list("status", flat=True)) == {"succeeded"}, outcomes
    assert set(ImageAnalysis.objects.values_list("image_id", flat=True)) == set(image_ids)
    assert set(ImageAnalysis.objects.values_list("analyser", flat=True)) == {"provider"}
    assert set(ProductTag.objects.filter(source="ai").values_list("image_id", flat=True)) == set(image_ids)


def test_no_image_was_sent_more_often_than_the_retry_policy_allows(analysed_under_faults, faulty_provider):
    sent = Counter(
        next(part["image_url"]["url"] for part in request["messages"][0]["content"] if part["type"] == "image_url")
        for request in faulty_provider.chat_requests
    )
    allowed = services.max_attempts() * len(CHAIN) * (SDK_RETRIES + 1)
    print("requests per image: most", max(sent.values()), "mean", round(sum(sent.values()) / len(sent), 2))
    assert len(sent) == IMAGES
    assert max(sent.values()) <= allowed
    assert max(ImageAnalysis.objects.values_list("attempts", flat=True)) <= services.max_attempts()


def test_each_image_was_billed_for_one_answer_and_nothing_was_doubled(analysed_under_faults):
    answered = defaultdict(int)
    for metadata in LLMCall.objects.filter(outcome__in=["success", "unusable"]).values_list("metadata", flat=True):
        answered[metadata["analysis_id"]] += 1
    assert set(answered.values()) == {1}
    assert len(answered) == IMAGES
    per_image = ImageAnalysis.objects.values("image_id", "workflow").annotate(n=Count("id"))
    assert max(row["n"] for row in per_image) == 1
    assert not ProductTag.objects.values("product", "tag").annotate(n=Count("id")).filter(n__gt=1).exists()
