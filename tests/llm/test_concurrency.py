import threading

import pytest

from llm import concurrency


def test_provider_concurrency_limit_turns_away_the_call_over_it():
    inside, release = threading.Event(), threading.Event()

    def hold():
        with concurrency.slot(provider="limited", limit=1, wait_seconds=1):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    try:
        with (
            pytest.raises(concurrency.ProviderSaturated),
            concurrency.slot(provider="limited", limit=1, wait_seconds=0.05),
        ):
            pass
    finally:
        release.set()
        holder.join()
    with concurrency.slot(provider="limited", limit=1, wait_seconds=0.05):
        pass
