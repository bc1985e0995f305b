"""The scale path: PostgreSQL and Redis for real, selected by DATABASE_URL and REDIS_URL.

bin/test runs this package in a second pass with both variables set; on its own, without
them, every test here is skipped with the reason.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        skip = pytest.mark.skip(reason=f"scale path needs {' and '.join(missing)} (bin/test sets them)")
        for item in items:
            if "scale" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_cache():
    """Keep the Redis cache of the scale path, but start every test with it empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def redis_broker():
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@pytest.fixture
def qcluster(settings, tmp_path):
    """Start real qcluster workers against this test's database; yields a function that starts them."""
    processes: list[subprocess.Popen] = []

    def start(**extra_env: str) -> subprocess.Popen:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
                f"{database['PORT'] or 5432}/{database['NAME']}"
            ),
            "REDIS_URL": os.environ["REDIS_URL"],
            # The test's media and private storage (tests/conftest.py) are the workers' too.
            "SHELFSIGHT_VAR_DIR": str(settings.MEDIA_ROOT.parent),
            "SHELFSIGHT_WORKERS": "2",
            **extra_env,
        }
        log = open(tmp_path / f"qcluster-{len(processes)}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for(predicate, *, timeout: float, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def assert_scale_backends():
    assert connection.vendor == "postgresql", "the scale pass must run on PostgreSQL"
    assert "redis" in settings.Q_CLUSTER, "the scale pass must use the Redis broker"
    assert "Redis" in settings.CACHES["default"]["BACKEND"]
