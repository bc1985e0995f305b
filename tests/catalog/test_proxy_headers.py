"""Proxy headers are trusted only when proxies are configured: a client cannot pick its own address."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ten_a_minute(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "anon": "10/min"})


def test_a_forged_forwarded_for_does_not_escape_the_anonymous_rate_limit(ten_a_minute):
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    statuses = [
        client.get("/api/products/", HTTP_X_FORWARDED_FOR=f"203.0.113.{index}").status_code for index in range(12)
    ]
    assert statuses.count(200) == 10
    assert statuses[10:] == [429, 429]


def test_behind_one_trusted_proxy_the_address_it_saw_is_the_client(ten_a_minute, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    statuses = [
        proxy.get("/api/products/", HTTP_X_FORWARDED_FOR=f"203.0.113.{index}, 198.51.100.9").status_code
        for index in range(12)
    ]
    assert statuses[10:] == [429, 429]
    other_client = proxy.get("/api/products/", HTTP_X_FORWARDED_FOR="198.51.100.10")
    assert other_client.status_code == 200


def production_setting(name: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 60, **env)
    code = (
        "import django; django.setup(); from django.conf import settings; "
        f"print(repr(getattr(settings, {name!r}, None)))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


def test_forwarded_proto_is_ignored_unless_proxies_are_configured():
    assert production_setting("SECURE_PROXY_SSL_HEADER") == "None"
    assert production_setting("SECURE_PROXY_SSL_HEADER", SHELFSIGHT_TRUSTED_PROXIES="1") == str(
        ("HTTP_X_FORWARDED_PROTO", "https")
    )
