import pytest

from llm import gateway, routing, selectors
from llm.models import CanaryEvent, LLMCall, Route
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

# Canary statistics live in the cache production runs on without Redis: the database cache.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_cache")]


def keys_on(arm: str, *, percent: int, count: int, route: str = "vision-tagging") -> list[str]:
    keys = (f"sha256-{n:06d}" for n in range(100_000))
    wanted = (key for key in keys if (routing.bucket(route, key) < percent) == (arm == "canary"))
    return [next(wanted) for _ in range(count)]


def test_bucket_is_stable_for_a_key_and_spread_over_keys():
    assert routing.bucket("vision-tagging", "abc") == routing.bucket("vision-tagging", "abc")
    buckets = [routing.bucket("vision-tagging", f"key-{n}") for n in range(5000)]
    share = sum(1 for bucket in buckets if bucket < 25) / len(buckets)
    assert 0.22 < share < 0.28


def test_same_key_always_goes_to_the_same_arm(make_route):
    make_route(canary="claude-sonnet-4.5", canary_percent=30)
    canary_key, primary_key = keys_on("canary", percent=30, count=1)[0], keys_on("primary", percent=30, count=1)[0]

    arms = {(key, gateway.complete(ask(routing_key=key)).arm) for key in [canary_key, primary_key] * 3}

    assert arms == {(canary_key, "canary"), (primary_key, "primary")}
    assert LLMCall.objects.filter(arm="canary").values_list("model", flat=True).distinct().get() == "claude-sonnet-4.5"


def test_request_without_key_never_lands_on_the_canary(make_route):
    make_route(canary="claude-sonnet-4.5", canary_percent=99)

    assert gateway.complete(ask(routing_key="")).arm == "primary"


def test_failing_canary_falls_back_to_the_primary_chain(make_route, two_providers):
    make_route(canary="claude-sonnet-4.5", canary_percent=50, canary_min_calls=50)
    two_providers["beta"].script(Reply.server_error())

    result = gateway.complete(ask(routing_key=keys_on("canary", percent=50, count=1)[0]))

    assert (result.model, result.arm) == ("gemini-2.5-flash", "fallback")


def test_canary_error_rate_over_threshold_rolls_back_and_records_the_numbers(make_route, two_providers):
    make_route(canary="claude-sonnet-4.5", canary_percent=40, canary_min_calls=20)
    keys = keys_on("canary", percent=40, count=20)
    # 2 failures in 20 calls = 10% > 5%
    two_providers["beta"].script(Reply.server_error(), Reply.server_error())

    for key in keys:
        gateway.complete(ask(routing_key=key))

    assert Route.objects.get(name="vision-tagging").canary_percent == 0
    event = CanaryEvent.objects.get(kind="rollback")
    assert (event.model, event.previous_percent, event.new_percent, event.calls) == ("claude-sonnet-4.5", 40, 0, 20)
    assert event.error_rate == pytest.approx(0.10)
    assert "error rate 10.0%" in event.reason
    assert gateway.complete(ask(routing_key=keys[0])).arm == "primary"


def test_canary_within_threshold_keeps_its_share(make_route, two_providers):
    make_route(canary="claude-sonnet-4.5", canary_percent=40, canary_min_calls=20)
    two_providers["beta"].script(Reply.server_error())  # 1 in 20 = 5%, not over 5%

    for key in keys_on("canary", percent=40, count=20):
        gateway.complete(ask(routing_key=key))

    assert Route.objects.get(name="vision-tagging").canary_percent == 40
    assert not CanaryEvent.objects.exists()


def test_slow_canary_rolls_back_on_p95_against_the_primary(make_route, two_providers):
    make_route(canary="claude-sonnet-4.5", canary_percent=50, canary_min_calls=10, canary_window=10)
    two_providers["beta"].latency = 0.2
    for key in keys_on("primary", percent=50, count=10):
        gateway.complete(ask(routing_key=key))
    for key in keys_on("canary", percent=50, count=10):
        gateway.complete(ask(routing_key=key))

    event = CanaryEvent.objects.get(kind="rollback")
    assert event.p95_ms > 2 * event.primary_p95_ms
    assert "p95" in event.reason


def test_canary_arms_selector_shows_both_arms(make_route):
    make_route(canary="claude-sonnet-4.5", canary_percent=25)
    gateway.complete(ask(routing_key=keys_on("canary", percent=25, count=1)[0]))

    arms = {row["arm"]: row for row in selectors.canary_arms(route="vision-tagging")}

    assert arms["canary"]["model"] == "claude-sonnet-4.5"
    assert (arms["canary"]["percent"], arms["canary"]["calls"]) == (25, 1)
    assert (arms["primary"]["percent"], arms["primary"]["calls"]) == (75, 0)


def test_two_workers_judging_the_same_canary_record_one_rollback(make_route, two_providers):
    from llm import canary, config

    make_route(canary="claude-sonnet-4.5", canary_percent=40, canary_min_calls=20, breaker_failures=100)
    seen_by_both = config.route_config("vision-tagging")  # each worker's snapshot before the rollback
    two_providers["beta"].script(*[Reply.server_error()] * 20)
    for key in keys_on("canary", percent=40, count=20):
        gateway.complete(ask(routing_key=key))

    assert canary.evaluate(seen_by_both) is None
    assert CanaryEvent.objects.filter(kind="rollback").count() == 1


def test_canary_whose_circuit_opens_is_rolled_back_at_once(make_route, two_providers):
    make_route(canary="claude-sonnet-4.5", canary_percent=40, canary_min_calls=20, breaker_failures=3)
    two_providers["beta"].script(*[Reply.server_error()] * 3)

    for key in keys_on("canary", percent=40, count=3):
        assert gateway.complete(ask(routing_key=key)).model == "gemini-2.5-flash"

    assert Route.objects.get(name="vision-tagging").canary_percent == 0
    event = CanaryEvent.objects.get(kind="rollback")
    assert (event.calls, event.error_rate) == (3, 1.0)
    assert event.reason == "circuit opened after 3 consecutive failures"


def test_a_canary_enabled_again_is_judged_on_a_fresh_window(make_route, two_providers):
    from llm import services

    make_route(canary="claude-sonnet-4.5", canary_percent=40, canary_min_calls=20)
    keys = keys_on("canary", percent=40, count=20)
    two_providers["beta"].script(Reply.server_error(), Reply.server_error(), Reply.server_error())
    for key in keys:
        gateway.complete(ask(routing_key=key))
    assert Route.objects.get(name="vision-tagging").canary_percent == 0

    services.set_canary_percent(route="vision-tagging", percent=40)
    for key in keys:  # all answered well: 0 errors in the new window, 3 in 40 over both
        assert gateway.complete(ask(routing_key=key)).arm == "canary"

    assert Route.objects.get(name="vision-tagging").canary_percent == 40
    assert CanaryEvent.objects.filter(kind="rollback").count() == 1


def test_unusable_canary_answers_roll_it_back_and_the_images_fall_back_to_the_primary(make_route, two_providers):
    import json

    make_route(canary="claude-sonnet-4.5", canary_percent=40, canary_min_calls=5, breaker_failures=50)
    two_providers["beta"].answer = "Sorry, I can't describe this image."
    two_providers["alpha"].answer = '{"ok": true}'

    keys = keys_on("canary", percent=40, count=5)

    results = [gateway.complete(ask(routing_key=key, validate=json.loads)) for key in keys]

    assert {(result.model, result.arm) for result in results} == {("gemini-2.5-flash", "fallback")}
    assert LLMCall.objects.filter(arm="canary", outcome="unusable").count() == 5
    assert Route.objects.get(name="vision-tagging").canary_percent == 0
    event = CanaryEvent.objects.get(kind="rollback")
    assert (event.calls, event.error_rate) == (5, 1.0)
