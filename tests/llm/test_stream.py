import pytest

from llm import gateway
from llm.exceptions import ProviderUnavailable
from llm.models import LLMCall
from tests.fakes.openai_server import Reply
from tests.llm.conftest import ask

pytestmark = pytest.mark.django_db


def test_stream_yields_deltas_and_logs_usage_when_done(make_route, two_providers):
    make_route()
    two_providers["alpha"].answer = "a fairly long answer that the server splits into several chunks"

    pieces = list(gateway.stream(ask()))

    assert len(pieces) > 1
    assert "".join(pieces) == two_providers["alpha"].answer
    call = LLMCall.objects.get()
    assert (call.model, call.outcome, call.output_tokens) == ("gemini-2.5-flash", "success", 16)
    assert call.cost_usd > 0


def test_stream_falls_back_before_the_first_delta(make_route, two_providers):
    make_route()
    two_providers["alpha"].script(Reply.server_error())
    two_providers["beta"].answer = "from beta"

    assert "".join(gateway.stream(ask())) == "from beta"
    assert list(LLMCall.objects.order_by("attempt").values_list("outcome", flat=True)) == ["error", "success"]


def test_stream_raises_gateway_error_when_nothing_answers(make_route, two_providers):
    make_route()
    two_providers["alpha"].script(Reply.server_error())
    two_providers["beta"].script(Reply.server_error())

    with pytest.raises(ProviderUnavailable):
        next(gateway.stream(ask()))


def test_abandoned_stream_frees_its_provider_slot(make_route, two_providers):
    from llm.models import Provider

    Provider.objects.filter(name="alpha").update(max_concurrency=1, timeout=0.5)
    make_route()
    two_providers["alpha"].answer = "x" * 200

    abandoned = gateway.stream(ask())
    next(abandoned)
    abandoned.close()

    assert gateway.complete(ask()).model == "gemini-2.5-flash"
