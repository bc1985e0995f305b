"""Fixtures shared by the whole suite: the loopback model server and provider settings."""

import os

import pytest
from django.test import override_settings

from tests.database_cache import database_cache_in
from tests.fakes.openai_server import FakeOpenAIServer
from tests.own_process import SQLITE_FILE_VARIABLE


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # The suite's in-memory SQLite fails concurrent writers at once ("table is locked"); checks
    # that drive many threads at it run in a process of their own on a file (tests/own_process.py).
    from django.conf import settings

    database = os.environ.get(SQLITE_FILE_VARIABLE)
    if database and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = database


@pytest.fixture(scope="session", autouse=True)
def static_root(tmp_path_factory):
    # WhiteNoise warns at every start of a request handler when STATIC_ROOT does not exist, and
    # the suite never runs collectstatic: an empty directory of its own keeps real warnings visible.
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static")):
        yield


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    originals = settings.STORAGES["originals"]
    settings.STORAGES = {
        **settings.STORAGES,
        "originals": {**originals, "OPTIONS": {**originals["OPTIONS"], "location": tmp_path / "private"}},
    }


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    # Each test gets a fresh in-process cache, so breaker and canary state never leak.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def database_cache(settings, db):
    """The default cache as production runs it without REDIS_URL: config.cache.DatabaseCache,
    in the test database (see tests/database_cache.py)."""
    with database_cache_in(settings) as cache:
        yield cache


@pytest.fixture(autouse=True)
def fresh_gateway_config():
    # A rolled-back test database sends no save signals: drop the gateway's routing snapshot.
    from llm import config

    config.invalidate()
    yield
    config.invalidate()


@pytest.fixture(autouse=True)
def fresh_vocabulary_memo():
    # Tags remembered by tagging.vocabulary may belong to a rolled-back test database.
    from tagging import vocabulary

    vocabulary.forget()
    yield
    vocabulary.forget()


@pytest.fixture
def model_server():
    """A running OpenAI-compatible server on loopback; stopped after the test."""
    with FakeOpenAIServer(models=("gemini-2.5-flash", "deepseek-v3.2", "gpt-4.1", "claude-sonnet-4.5")) as server:
        yield server


@pytest.fixture
def provider_settings(settings, model_server, monkeypatch):
    """Point the gateway's default provider at the loopback server, with fast timeouts."""
    settings.OPENAI_BASE_URL = model_server.base_url
    settings.OPENAI_API_KEY = "sk-test-0123456789abcdef"
    settings.SHELFSIGHT_VISION_MODEL = "gemini-2.5-flash"
    settings.SHELFSIGHT_LLM_TIMEOUT = 2.0
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 0)
    return settings


@pytest.fixture
def sync_tasks(settings):
    """Run django-q2 tasks inline, so on_commit enqueues execute in the test."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    from django_q.conf import Conf

    previous, Conf.SYNC = Conf.SYNC, True
    yield
    Conf.SYNC = previous
