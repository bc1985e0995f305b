import subprocess
import sys
import time
from pathlib import Path

import pytest

from llm import breaker, gateway
from llm.models import LLMCall
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

# Circuit state lives in the cache production runs on without Redis: the database cache.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]
REPO = Path(__file__).resolve().parents[2]


def run_worker(cache_dir, action: str, key: str, route: str = "vision-tagging") -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.llm.breaker_worker", str(cache_dir), action, route, key],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return completed.stdout.strip()


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A file-based cache other processes can open too, like the database cache or Redis."""
    location = tmp_path / "cache"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(location)}
    }
    return location


def test_circuit_opens_after_consecutive_failures_and_skips_the_model(make_route, two_providers):
    make_route(breaker_failures=3, breaker_cooldown_seconds=60)
    two_providers["alpha"].script(*[Reply.server_error()] * 3)
    for _ in range(3):
        assert gateway.complete(ask()).model == "deepseek-v3.2"

    result = gateway.complete(ask())

    assert result.model == "deepseek-v3.2"
    assert len(two_providers["alpha"].chat_requests) == 3
    skipped = LLMCall.objects.get(request_id=result.request_id, attempt=1)
    assert (skipped.outcome, skipped.error_message) == ("skipped", "circuit open")


def test_success_resets_the_failure_streak(make_route, two_providers):
    make_route(breaker_failures=3)
    two_providers["alpha"].script(Reply.server_error(), Reply.server_error(), Reply(), Reply.server_error())
    for _ in range(4):
        gateway.complete(ask())

    assert breaker.open_until("vision-tagging", "alpha/gemini-2.5-flash") is None


def test_circuit_closes_after_the_cooldown(make_route, two_providers, monkeypatch):
    make_route(breaker_failures=1, breaker_cooldown_seconds=60)
    two_providers["alpha"].script(Reply.server_error())
    opened_at = time.time()
    monkeypatch.setattr(breaker, "clock", lambda: opened_at)
    gateway.complete(ask())
    assert breaker.open_until("vision-tagging", "alpha/gemini-2.5-flash") == opened_at + 60

    monkeypatch.setattr(breaker, "clock", lambda: opened_at + 59)
    assert gateway.complete(ask()).model == "deepseek-v3.2"
    monkeypatch.setattr(breaker, "clock", lambda: opened_at + 61)
    assert gateway.complete(ask()).model == "gemini-2.5-flash"


def test_circuit_opened_by_another_process_is_skipped_here(make_route, two_providers, shared_cache):
    make_route(breaker_failures=3)

    assert run_worker(shared_cache, "fail", "alpha/gemini-2.5-flash") == "opened"
    result = gateway.complete(ask())

    assert result.model == "deepseek-v3.2"
    assert two_providers["alpha"].chat_requests == []


def test_circuit_opened_here_is_seen_by_another_process(make_route, two_providers, shared_cache):
    make_route(breaker_failures=2)
    two_providers["alpha"].script(Reply.server_error(), Reply.server_error())
    assert run_worker(shared_cache, "check", "alpha/gemini-2.5-flash") == "closed"

    gateway.complete(ask())
    gateway.complete(ask())

    assert run_worker(shared_cache, "check", "alpha/gemini-2.5-flash") == "open"
