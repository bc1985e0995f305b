"""The storefront's re-rank under a misbehaving provider and outside clients: a deadline, a
memory of failures, separate circuits, no model spend by anonymous clients, stable reason codes."""

import json
import socket
import time
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from llm import breaker
from llm.models import LLMCall
from llm.services import seed_configuration
from recommendations import reranking
from recommendations.services import rebuild_similar_products
from tests.fakes.openai_server import FaultMix, Reply
from tests.recommendations.test_recommendations import ranking, read_events, recommend

pytestmark = pytest.mark.django_db
FAST_ORDER = ["p3", "p2", "p4", "p5"]
DEADLINE = 0.3
ALLOWANCE = 0.3  # the candidates' queries and the HTTP round trip, on a shared 2-core machine


@pytest.fixture
def built(small_catalog):
    rebuild_similar_products()
    return small_catalog


@pytest.fixture
def short_deadline(provider_settings, monkeypatch):
    monkeypatch.setattr("recommendations.reranking.DEADLINE_SECONDS", DEADLINE)
    # The SDK defaults a provider would run with: long timeout, retries honouring Retry-After.
    provider_settings.SHELFSIGHT_LLM_TIMEOUT = 5.0
    monkeypatch.setattr("llm.config.DEFAULT_MAX_RETRIES", 2)
    return provider_settings


def timed(**body) -> tuple[float, dict]:
    started = time.perf_counter()
    response = recommend(**body)
    return time.perf_counter() - started, response.json()


def skus(body: dict) -> list[str]:
    return [item["sku"] for item in body["items"]]


# --- a deadline for the whole re-rank -------------------------------------------------------
def test_a_hanging_provider_costs_a_rerank_no_more_than_its_deadline(built, short_deadline, model_server):
    seed_configuration()  # recommendations: deepseek-v3.2, gemini-2.5-flash, both on the loopback server
    model_server.set_faults(FaultMix(hang=1.0))

    elapsed, body = timed(rerank=True)

    assert elapsed < DEADLINE + ALLOWANCE
    assert (body["rerank_status"], body["fallback_reason"]) == ("fallback", "deadline_passed")
    assert skus(body) == FAST_ORDER
    calls = list(LLMCall.objects.filter(route="recommendations").order_by("attempt"))
    assert [(call.model, call.outcome) for call in calls] == [
        ("gemini-2.5-flash", "timeout"),  # the request's tier (efficient) first
        ("deepseek-v3.2", "skipped"),
    ]
    assert calls[1].error_message == "deadline passed"
    assert len(model_server.chat_requests) == 1  # no SDK retry under a deadline


def test_every_rerank_against_a_hanging_provider_answers_within_the_deadline(
    built, short_deadline, model_server, monkeypatch
):
    monkeypatch.setattr(reranking, "FAILURE_MEMORY_SECONDS", 0)  # each request waits on the provider
    model_server.set_faults(FaultMix(hang=1.0))

    timings = [timed(rerank=True, context=f"request {number}")[0] for number in range(8)]

    assert max(timings) < DEADLINE + ALLOWANCE
    assert len(model_server.chat_requests) == 5  # then the route's circuit opens: skipped at once


def test_after_a_hang_the_next_reranks_in_the_window_do_not_wait(built, short_deadline, model_server):
    model_server.set_faults(FaultMix(hang=1.0))
    timed(rerank=True)

    timings, bodies = zip(*(timed(rerank=True, context=f"request {number}") for number in range(20)), strict=True)

    assert max(timings) < ALLOWANCE
    assert {body["fallback_reason"] for body in bodies} == {"provider_unavailable"}
    assert len(model_server.chat_requests) == 1


def test_a_provider_that_is_down_costs_one_failure_per_window(built, short_deadline):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    short_deadline.OPENAI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"

    first_elapsed, first = timed(rerank=True)
    timings = [timed(rerank=True, context=f"request {number}")[0] for number in range(20)]

    assert first["fallback_reason"] == "provider_unavailable"
    assert first_elapsed < DEADLINE + ALLOWANCE
    assert max(timings) < ALLOWANCE
    assert LLMCall.objects.exclude(outcome="skipped").count() == 1


def test_a_streamed_rerank_sends_candidates_and_ends_at_the_deadline(built, short_deadline, model_server):
    model_server.set_faults(FaultMix(hang=1.0))

    started = time.perf_counter()
    events = read_events(recommend(rerank=True, stream=True))
    elapsed = time.perf_counter() - started

    assert elapsed < DEADLINE + ALLOWANCE
    assert [name for name, _ in events] == ["candidates", "done"]
    assert [item["sku"] for item in events[0][1]["items"]] == FAST_ORDER
    assert events[-1][1] == {"reranked": False, "status": "fallback", "fallback_reason": "deadline_passed"}


# --- separate circuits ----------------------------------------------------------------------
def is_rerank(body: dict) -> bool:
    content = body["messages"][0]["content"]
    return isinstance(content, str) and content.startswith("You order product recommendations")


def test_rerank_failures_never_change_an_image_analysis_outcome(built, provider_settings, model_server, monkeypatch):
    from catalog.services import add_product_image
    from tagging.services import analyze_image
    from tests.factories import ProductFactory, image_upload
    from tests.tagging.conftest import full_answer

    # Every re-rank reaches the provider (raising=False: the check also runs where there is no memory).
    monkeypatch.setattr(reranking, "FAILURE_MEMORY_SECONDS", 0, raising=False)
    model_server.answer = json.dumps(full_answer())
    model_server.reply_for = lambda body: Reply.server_error() if is_rerank(body) else None
    images = [add_product_image(product=ProductFactory(), upload=image_upload(size=(640, 480))) for _ in range(3)]

    outcomes = []
    for number, image in enumerate(images):
        # Storefront traffic comes in bursts between uploads: more failures in a row than a circuit takes.
        for request in range(6):
            assert recommend(rerank=True, context=f"{number}-{request}").json()["rerank_status"] == "fallback"
        analysis = analyze_image(image_id=image.pk)
        outcomes.append((analysis.status, analysis.error))

    assert outcomes == [("succeeded", "")] * 3
    assert breaker.open_until("recommendations", "default/gemini-2.5-flash") is not None
    assert breaker.open_until("vision-tagging", "default/gemini-2.5-flash") is None


# --- no open wallet -------------------------------------------------------------------------
def test_anonymous_rerank_requests_cause_no_model_call(built, provider_settings, model_server):
    model_server.answer = ranking(("p5", "Never asked for."))

    bodies = [recommend(anonymous=True, rerank=True, context=f"new context {n}").json() for n in range(5)]
    events = read_events(recommend(anonymous=True, rerank=True, stream=True))

    assert model_server.chat_requests == []
    assert not LLMCall.objects.exists()
    for body in bodies:
        assert (body["rerank_status"], body["fallback_reason"]) == ("fallback", "anonymous_client")
        assert skus(body) == FAST_ORDER
    assert [name for name, _ in events] == ["candidates", "done"]
    assert events[-1][1]["fallback_reason"] == "anonymous_client"


def test_anonymous_rerank_can_be_switched_on(built, provider_settings, model_server):
    provider_settings.SHELFSIGHT_RERANK_ANONYMOUS = True
    model_server.answer = ranking(("p5", "Matches the red."))

    assert recommend(anonymous=True, rerank=True).json()["rerank_status"] == "reranked"


def test_a_storefront_token_from_drf_create_token_reranks(built, provider_settings, model_server):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("storefront")
    out = StringIO()
    call_command("drf_create_token", "storefront", stdout=out)
    token = out.getvalue().split()[2]
    model_server.answer = ranking(("p5", "Matches the red."))

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = client.post("/api/recommendations/", {"session_id": "s", "viewed": ["p1"], "rerank": True}, format="json")

    assert body.json()["rerank_status"] == "reranked"


def test_trivial_variations_of_a_request_share_one_model_call(built, provider_settings, model_server):
    model_server.answer = ranking(("p3", "A trowel to go with it."))

    assert recommend(rerank=True, viewed=["p1", "p2"], context="Gift under $50").json()["reranked"]
    again = recommend(rerank=True, viewed=["p2", "p1", "p1"], context="  gift   UNDER $50 ").json()

    assert again["rerank_status"] == "cached"
    assert len(model_server.chat_requests) == 1
    assert "gift under $50" in model_server.chat_requests[0]["messages"][1]["content"]


def test_free_text_context_is_bounded(built):
    response = recommend(rerank=True, context="x" * (reranking.MAX_CONTEXT_CHARS + 1))

    assert response.status_code == 400
    assert "context" in response.json()


def test_the_recommendations_route_has_a_daily_cap_by_default(built, provider_settings, model_server):
    from llm import config

    assert config.route_config("recommendations").daily_budget_usd is not None


# --- stable reason codes --------------------------------------------------------------------
def test_the_storefront_sees_a_reason_code_never_the_model_text(built, provider_settings, model_server):
    model_server.answer = ranking(("p2", "ok"), ("IGNORE-ALL-RULES <script>alert(1)</script>", "invented"))

    response = recommend(rerank=True)

    assert response.json()["fallback_reason"] == "answer_unusable"
    assert "IGNORE-ALL-RULES" not in response.content.decode()


def test_every_fallback_reason_is_one_of_the_documented_codes(built, provider_settings, model_server):
    model_server.script(Reply.server_error())
    codes = {
        recommend(rerank=True).json()["fallback_reason"],
        recommend(rerank=True, anonymous=True).json()["fallback_reason"],
        recommend(rerank=True, viewed=["nope"]).json()["fallback_reason"],
    }

    assert codes == {"provider_unavailable", "anonymous_client", "no_candidates"}
    assert codes <= set(reranking.FallbackReason.values)
