"""Production settings pass Django's deployment checks, and provider keys never reach a log."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm import gateway
from llm.exceptions import GatewayError
from llm.models import LLMCall
from llm.types import ChatRequest
from tagging.analysis.schema import KEYWORD_KEY
from tests.fakes.openai_server import Reply
from tests.reliability.model_answers import tagging_answer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_API_KEY = "sk-live-DO-NOT-LOG-7f3a9c2e5b8d1f4a"


def run_manage(*arguments: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update({"SHELFSIGHT_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_check_deploy_with_production_settings_reports_nothing(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x7!" + "q3Zr8LmV2pK9wYt6bN1cX5hJ4gF0dS-eA_uR" * 2,
        DJANGO_ALLOWED_HOSTS="shop.example.com",
        OPENAI_API_KEY=SECRET_API_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert SECRET_API_KEY not in result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = run_manage("check", tmp_path=tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def vision_request() -> ChatRequest:
    return ChatRequest(
        route="vision-tagging",
        messages=[{"role": "user", "content": "Describe the product."}],
        routing_key="0" * 64,
        needs_vision=True,
    )


@pytest.mark.django_db
def test_api_key_never_appears_in_logs_of_successful_and_failed_calls(provider_settings, model_server, caplog):
    provider_settings.OPENAI_API_KEY = SECRET_API_KEY
    model_server.answer = '{"ok": true}'
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpcore", "llm", "tagging", "django"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        gateway.complete(vision_request())
        model_server.script(Reply.server_error(), Reply.rate_limited(0.01), Reply(status=401, body=b'{"error": {}}'))
        for _ in range(3):
            with pytest.raises(GatewayError):
                gateway.complete(vision_request())
    finally:
        for name in ("openai", "httpx", "httpcore", "llm", "tagging", "django"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    assert caplog.records, "the calls should have logged something at DEBUG"
    assert SECRET_API_KEY not in caplog.text
    assert SECRET_API_KEY[-12:] not in caplog.text


@pytest.mark.django_db
def test_api_key_is_never_stored_on_the_call_log(provider_settings, model_server):
    from llm.models import LLMCall

    provider_settings.OPENAI_API_KEY = SECRET_API_KEY
    model_server.script(Reply.server_error())
    with pytest.raises(GatewayError):
        gateway.complete(vision_request())
    stored = " ".join(str(value) for value in LLMCall.objects.values_list().get())
    assert SECRET_API_KEY not in stored


@pytest.mark.django_db
def test_a_key_echoed_in_a_successful_answer_is_redacted_before_it_is_stored(provider_settings, model_server):
    from catalog.services import add_product_image
    from tagging.models import ImageAnalysis
    from tagging.services import analyze_image
    from tests.factories import ProductFactory, image_upload

    provider_settings.OPENAI_API_KEY = SECRET_API_KEY
    answer = json.loads(tagging_answer({}))
    answer[KEYWORD_KEY] = [*answer[KEYWORD_KEY], f"key {SECRET_API_KEY} 50"]
    model_server.answer = json.dumps(answer)
    image = add_product_image(product=ProductFactory(), upload=image_upload(size=(640, 480)))

    analyze_image(image_id=image.pk)

    analysis = ImageAnalysis.objects.get(image=image)
    assert analysis.status == ImageAnalysis.Status.SUCCEEDED
    assert "key [redacted] 50" in analysis.raw_response
    stored = " ".join(str(value) for row in LLMCall.objects.values_list() for value in row)
    assert SECRET_API_KEY not in analysis.raw_response + str(analysis.result) + stored
