import pytest

from llm import gateway
from llm.models import LLMCall
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


def test_a_held_success_is_left_for_the_caller_to_write(make_route, two_providers):
    make_route()

    with gateway.holding_calls() as held:
        result = gateway.complete(ask())

    assert not LLMCall.objects.exists()
    assert [(call.model, call.outcome, str(call.request_id)) for call in held] == [
        ("gemini-2.5-flash", "success", result.request_id)
    ]
    assert result.call_id is None


def test_failed_attempts_are_written_at_once_even_while_holding(make_route, two_providers):
    make_route()
    two_providers["alpha"].script(Reply.server_error(500))

    with gateway.holding_calls() as held:
        result = gateway.complete(ask())

    written = LLMCall.objects.get(request_id=result.request_id)
    assert (written.model, written.outcome) == ("gemini-2.5-flash", "error")
    assert [(call.model, call.outcome) for call in held] == [("deepseek-v3.2", "success")]


def test_outside_holding_every_call_is_written(make_route, two_providers):
    make_route()
    with gateway.holding_calls():
        pass

    result = gateway.complete(ask())

    assert LLMCall.objects.get(pk=result.call_id).outcome == "success"
