"""1,000 images against a model server that misbehaves the way providers do (run by
test_fault_injection.py in a process with a file database).

30% 429 with Retry-After, 10% 500, 5% hangs past the client timeout, 5% truncated JSON. The
images are analysed through tagging.services.analyze_image with bounded in-process
concurrency (backfill_tags --concurrency). Afterwards nothing is lost or doubled: every image
is tagged or explicitly failed with its reason, and ``backfill_tags --only-failed`` finishes
the job once the provider recovers.
"""

import io
from collections import Counter

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Count
from django.test import override_settings
from PIL import Image

from catalog.models import ProductImage
from tagging.models import ImageAnalysis, ProductTag
from tests.factories import ProductFactory
from tests.fakes.openai_server import FakeOpenAIServer, FaultMix
from tests.reliability.model_answers import tagging_answer

IMAGES = 1_000
CONCURRENCY = 8
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


@pytest.fixture(scope="module")
def faulty_provider(tmp_path_factory):
    with FakeOpenAIServer(models=("gemini-2.5-flash",), hang_seconds=3) as server:
        server.answer = tagging_answer
        server.set_faults(PROVIDER_FAULTS)
        with override_settings(
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-test-faults",
            SHELFSIGHT_VISION_MODEL="gemini-2.5-flash",
            SHELFSIGHT_LLM_TIMEOUT=0.3,
            # The production default: the SDK retries 429/5xx/timeouts itself, honouring Retry-After.
            SHELFSIGHT_LLM_MAX_RETRIES=2,
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        ):
            yield server


@pytest.fixture(scope="module")
def file_database(django_db_blocker):
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
    with django_db_blocker.unblock():
        image_ids = make_catalog(IMAGES)
        call_command("backfill_tags", "--concurrency", str(CONCURRENCY), "--no-progress", stdout=io.StringIO())
    return image_ids


@pytest.fixture(autouse=True)
def isolated_media():
    """Overrides the suite's per-test MEDIA_ROOT: every test here looks at the module's one run."""


@pytest.fixture(autouse=True)
def database(django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_every_image_ends_tagged_or_failed_with_its_reason(analysed_under_faults, faulty_provider):
    assert len(faulty_provider.chat_requests) > 100
    outcomes = Counter(ImageAnalysis.objects.values_list("status", flat=True))
    assert set(outcomes) <= {"succeeded", "failed"}, outcomes
    latest = ImageAnalysis.objects.values("image_id").annotate(rows=Count("id"))
    assert {row["image_id"] for row in latest} == set(analysed_under_faults)
    failed = ImageAnalysis.objects.filter(status="failed")
    # The breaker opens under this fault rate, so most failures are fast "circuit open" ones.
    assert failed.exists() and outcomes["succeeded"] > 0, outcomes
    assert not failed.filter(error="").exists()
    assert not failed.filter(error_class="").exists()
    assert not ImageAnalysis.objects.filter(finished_at__isnull=True).exists()
    tagged = set(ProductTag.objects.filter(source="ai").values_list("image_id", flat=True))
    succeeded = set(ImageAnalysis.objects.filter(status="succeeded").values_list("image_id", flat=True))
    assert tagged == succeeded


def test_failure_reasons_name_what_went_wrong(analysed_under_faults):
    reasons = Counter(ImageAnalysis.objects.filter(status="failed").values_list("error_class", flat=True))
    print("failure classes:", dict(reasons))
    assert set(reasons) <= {"ProviderUnavailable", "MalformedModelOutput", "BudgetExceeded"}, reasons


def test_faults_leave_no_duplicate_tags_or_analyses(analysed_under_faults):
    assert not ProductTag.objects.values("product", "tag").annotate(n=Count("id")).filter(n__gt=1).exists()
    per_image = ImageAnalysis.objects.values("image_id", "workflow").annotate(n=Count("id"))
    assert max(row["n"] for row in per_image) == 1


# Last, because it changes the outcome.
def test_failed_images_are_retried_by_backfill_only_failed(analysed_under_faults, faulty_provider):
    failed_before = set(ImageAnalysis.objects.filter(status="failed").values_list("image_id", flat=True))
    assert failed_before
    faulty_provider.set_faults(FaultMix())
    cache.clear()  # the breaker's cooldown has passed by the time staff re-run the command
    out = io.StringIO()
    call_command("backfill_tags", "--only-failed", "--concurrency", str(CONCURRENCY), "--no-progress", stdout=out)
    assert f"analysed {len(failed_before)} image(s)" in out.getvalue()
    latest_status = {
        image_id: status
        for image_id, status in ImageAnalysis.objects.order_by("image_id", "created_at", "id").values_list(
            "image_id", "status"
        )
    }
    assert set(latest_status.values()) == {"succeeded"}
    assert set(ProductTag.objects.values_list("image_id", flat=True)) == set(analysed_under_faults)
    assert not ProductTag.objects.values("product", "tag").annotate(n=Count("id")).filter(n__gt=1).exists()
