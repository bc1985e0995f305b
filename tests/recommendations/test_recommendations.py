"""Personalised picks: the fast tag-profile order, the routed re-rank, its cache and its fallbacks."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from llm.models import LLMCall, ModelDeployment, Provider, Route, RouteStep
from recommendations import reranking
from recommendations.services import rebuild_similar_products
from tagging.events import announce_tags_changed
from tests.fakes.openai_server import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(small_catalog):
    rebuild_similar_products()
    return small_catalog


def recommend(*, anonymous: bool = False, **body):
    """POST as a storefront would: authenticated (its token), unless ``anonymous``.

    The user is not saved: forced authentication reads nothing, so the query counts below are
    the view's own (a token costs the storefront one lookup per request on top).
    """
    payload = {"session_id": "session-1", "viewed": ["p1"], **body}
    client = APIClient()
    if not anonymous:
        client.force_authenticate(user=get_user_model()(username="storefront"))
    return client.post("/api/recommendations/", payload, format="json")


def ranking(*pairs: tuple[str, str]) -> str:
    return json.dumps({"items": [{"sku": sku, "reason": reason} for sku, reason in pairs]})


def test_fast_path_orders_candidates_by_the_session_tag_profile(built):
    body = recommend().json()
    # p3 shares red+steel+vintage with the session, p2 red+steel, p5 red, p4 vintage.
    assert [item["sku"] for item in body["items"]] == ["p3", "p2", "p4", "p5"]
    assert body["items"][0]["shared_tags"] == ["red", "steel", "vintage"]
    assert (body["reranked"], body["rerank_status"]) == (False, "not_requested")


def test_viewed_and_held_products_are_not_recommended(built):
    skus = [item["sku"] for item in recommend(viewed=["p1", "p2", "held"]).json()["items"]]
    assert "p1" not in skus and "p2" not in skus and "held" not in skus


def test_unknown_skus_give_an_empty_list_not_an_error(built):
    response = recommend(viewed=["nope"])
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_rerank_returns_the_model_order_with_reasons(built, provider_settings, model_server):
    model_server.answer = ranking(("p5", "Matches the red you keep looking at."), ("p3", "Same vintage steel."))
    body = recommend(rerank=True, context="gift under $50").json()
    assert body["reranked"] is True
    assert body["rerank_status"] == "reranked"
    assert [item["sku"] for item in body["items"]] == ["p5", "p3", "p2", "p4"]  # unranked ones keep the fast order
    assert body["items"][0]["reason"] == "Matches the red you keep looking at."
    # Four candidates (0), a short context (+1), reasons asked (+2): score 3, the efficient tier.
    assert body["tier"] == "efficient"
    sent = model_server.chat_requests[0]
    assert "gift under $50" in sent["messages"][1]["content"]


def test_rerank_is_cached_by_its_inputs(built, provider_settings, model_server):
    model_server.answer = ranking(("p2", "A pan to go with it."))
    first = recommend(rerank=True).json()
    second = recommend(rerank=True).json()
    assert len(model_server.chat_requests) == 1
    assert second["rerank_status"] == "cached"
    assert second["items"] == first["items"]


def test_repeated_rerank_is_answered_without_a_model_call_or_a_query(
    built, provider_settings, model_server, django_assert_max_num_queries
):
    model_server.answer = ranking(("p2", "A pan to go with it."))
    first = recommend(rerank=True).json()
    with django_assert_max_num_queries(0):
        second = recommend(rerank=True, session_id="session-2").json()
    assert len(model_server.chat_requests) == 1
    assert (second["rerank_status"], second["session_id"]) == ("cached", "session-2")
    assert second["items"] == first["items"]


def test_a_tags_change_invalidates_the_cached_rerank(
    built, provider_settings, model_server, django_capture_on_commit_callbacks
):
    model_server.answer = ranking(("p2", "A pan to go with it."))
    recommend(rerank=True)
    with django_capture_on_commit_callbacks(execute=True):
        announce_tags_changed(product_ids=[built["p2"].pk])
    assert recommend(rerank=True).json()["rerank_status"] == "reranked"
    assert len(model_server.chat_requests) == 2


def test_a_different_limit_is_not_served_from_the_cache(built, provider_settings, model_server):
    model_server.answer = ranking(("p2", "A pan to go with it."))
    recommend(rerank=True)
    assert recommend(rerank=True, limit=2).json()["rerank_status"] == "reranked"


def test_different_context_is_not_served_from_the_cache(built, provider_settings, model_server):
    model_server.answer = ranking(("p2", "A pan to go with it."))
    recommend(rerank=True, context="kitchen")
    recommend(rerank=True, context="garden")
    assert len(model_server.chat_requests) == 2


def test_rerank_falls_back_to_the_fast_order_when_the_model_fails(built, provider_settings, model_server):
    model_server.script(Reply.server_error(), Reply.server_error(), Reply.server_error())
    response = recommend(rerank=True)
    assert response.status_code == 200
    body = response.json()
    assert (body["reranked"], body["rerank_status"]) == (False, "fallback")
    assert "unavailable" in body["fallback_reason"]
    assert [item["sku"] for item in body["items"]] == ["p3", "p2", "p4", "p5"]


def test_rerank_falls_back_when_the_model_answers_nonsense(built, provider_settings, model_server):
    model_server.answer = "Sure! Here are some great products you will love."
    body = recommend(rerank=True).json()
    assert (body["reranked"], body["rerank_status"]) == (False, "fallback")
    assert "unusable" in body["fallback_reason"]


def test_rerank_falls_back_when_the_model_invents_a_product(built, provider_settings, model_server):
    model_server.answer = ranking(("p2", "ok"), ("SKU-THAT-DOES-NOT-EXIST", "invented"))
    body = recommend(rerank=True).json()
    assert body["rerank_status"] == "fallback"
    assert [item["sku"] for item in body["items"]] == ["p3", "p2", "p4", "p5"]


def test_a_failed_rerank_is_remembered_briefly_then_the_model_is_asked_again(
    built, provider_settings, model_server, monkeypatch
):
    now = [1_000_000.0]
    monkeypatch.setattr(reranking, "clock", lambda: now[0])
    model_server.script(Reply.server_error())
    assert recommend(rerank=True).json()["fallback_reason"] == "provider_unavailable"
    model_server.answer = ranking(("p2", "A pan to go with it."))

    within = recommend(rerank=True, context="another request").json()
    now[0] += reranking.FAILURE_MEMORY_SECONDS + 1
    after = recommend(rerank=True).json()

    assert (within["rerank_status"], within["fallback_reason"]) == ("fallback", "provider_unavailable")
    assert after["rerank_status"] == "reranked"
    assert len(model_server.chat_requests) == 2  # the failure and the call after the window


def test_rerank_without_a_configured_key_falls_back(built, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    response = recommend(rerank=True)
    assert response.status_code == 200
    assert response.json()["rerank_status"] == "fallback"


@pytest.fixture
def spent_budget(provider_settings):
    """The `recommendations` route, over the loopback model server, with today's budget spent."""
    provider = Provider.objects.create(name="loopback")  # the OPENAI_* settings: the loopback server
    deployment = ModelDeployment.objects.create(
        name="gemini-2.5-flash",
        provider=provider,
        input_price_per_mtok=Decimal("0.30"),
        output_price_per_mtok=Decimal("2.50"),
    )
    route = Route.objects.create(
        name="recommendations", daily_budget_usd=Decimal("1.00"), over_budget=Route.OverBudget.REFUSE
    )
    RouteStep.objects.create(route=route, deployment=deployment, position=1)
    LLMCall.objects.create(
        request_id="00000000-0000-0000-0000-000000000005",
        route="recommendations",
        provider="loopback",
        model="gemini-2.5-flash",
        outcome="success",
        cost_usd=Decimal("1.00"),
    )
    return route


def test_rerank_with_the_budget_spent_returns_the_fast_order_with_the_flag(built, spent_budget, model_server):
    model_server.answer = ranking(("p5", "Never asked for."))
    response = recommend(rerank=True)
    assert response.status_code == 200
    body = response.json()
    assert (body["reranked"], body["rerank_status"]) == (False, "fallback")
    assert "budget" in body["fallback_reason"]
    assert [item["sku"] for item in body["items"]] == ["p3", "p2", "p4", "p5"]
    assert all(item["reason"] == "" for item in body["items"])
    assert model_server.chat_requests == []
    assert LLMCall.objects.filter(route="recommendations", error_class="BudgetExceeded").exists()


def test_a_rerank_refused_for_budget_is_not_cached(built, spent_budget, model_server):
    recommend(rerank=True)
    spent_budget.daily_budget_usd = Decimal("100.00")
    spent_budget.save()
    model_server.answer = ranking(("p2", "A pan to go with it."))
    assert recommend(rerank=True).json()["rerank_status"] == "reranked"


def read_events(response) -> list[tuple[str, dict]]:
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_stream_sends_candidates_then_each_reason_then_done(built, provider_settings, model_server):
    model_server.answer = "p4 | Vintage like the knife you viewed.\np3 | The same steel and red.\n"
    response = recommend(rerank=True, stream=True)
    assert response["Content-Type"] == "text/event-stream"
    events = read_events(response)
    assert [name for name, _ in events] == ["candidates", "item", "item", "done"]
    assert [item["sku"] for item in events[0][1]["items"]] == ["p3", "p2", "p4", "p5"]
    assert events[1][1] == {"rank": 1, "sku": "p4", "reason": "Vintage like the knife you viewed."}
    assert events[-1][1]["reranked"] is True


def test_repeated_stream_is_replayed_from_the_cache_without_a_query(
    built, provider_settings, model_server, django_assert_max_num_queries
):
    model_server.answer = "p4 | Vintage like the knife you viewed.\np3 | The same steel and red.\n"
    first = read_events(recommend(rerank=True, stream=True))
    with django_assert_max_num_queries(0):
        second = read_events(recommend(rerank=True, stream=True, session_id="session-2"))
    assert len(model_server.chat_requests) == 1
    assert second[:-1] == first[:-1]  # the same candidates and reasons, in the same order
    assert (second[-1][1]["status"], second[-1][1]["reranked"]) == ("cached", True)


def test_a_tags_change_invalidates_the_cached_stream(
    built, provider_settings, model_server, django_capture_on_commit_callbacks
):
    model_server.answer = "p4 | Vintage like the knife you viewed.\n"
    read_events(recommend(rerank=True, stream=True))
    with django_capture_on_commit_callbacks(execute=True):
        announce_tags_changed(product_ids=[built["p2"].pk])
    assert read_events(recommend(rerank=True, stream=True))[-1][1]["status"] == "reranked"
    assert len(model_server.chat_requests) == 2


def test_stream_with_the_budget_spent_sends_the_fast_order_and_says_why(built, spent_budget, model_server):
    events = read_events(recommend(rerank=True, stream=True))
    assert [name for name, _ in events] == ["candidates", "done"]
    assert [item["sku"] for item in events[0][1]["items"]] == ["p3", "p2", "p4", "p5"]
    assert events[-1][1]["reranked"] is False
    assert "budget" in events[-1][1]["fallback_reason"]
    assert model_server.chat_requests == []


def test_stream_reports_fallback_when_the_model_fails(built, provider_settings, model_server):
    model_server.script(Reply.server_error())
    events = read_events(recommend(rerank=True, stream=True))
    assert [name for name, _ in events] == ["candidates", "done"]
    assert events[-1][1]["reranked"] is False
    assert events[-1][1]["fallback_reason"]


def test_stream_skips_lines_naming_unknown_products(built, provider_settings, model_server):
    model_server.answer = "Here you go:\nXYZ | invented\np2 | A pan for the same kitchen.\n"
    events = read_events(recommend(rerank=True, stream=True))
    assert [data["sku"] for name, data in events if name == "item"] == ["p2"]


def test_invalid_request_is_a_bad_request(built):
    assert APIClient().post("/api/recommendations/", {"viewed": []}, format="json").status_code == 400
