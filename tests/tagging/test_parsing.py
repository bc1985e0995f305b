"""Reading answers: fences, JSON, schema and the compact "text NN" values."""

import json

import pytest

from tagging.analysis.parsing import MalformedModelOutput, parse_answer, unfenced
from tests.tagging.conftest import full_answer


def test_fences_with_and_without_language_are_removed():
    assert unfenced('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert unfenced('```\n{"a": 1}```') == '{"a": 1}'
    assert unfenced(' {"a": 1} ') == '{"a": 1}'


def test_values_and_confidences_are_read():
    findings = parse_answer(json.dumps(full_answer(x=["drugs 77"])), workflow="full")

    assert ("colour", "navy blue", 0.93) in [(f.facet, f.value, f.confidence) for f in findings.tags]
    assert findings.prohibited == {"drugs": 0.77}


def test_confidence_over_100_is_refused():
    with pytest.raises(MalformedModelOutput):
        parse_answer(json.dumps(full_answer(co="navy 140")), workflow="full")


def test_extra_keys_are_refused():
    with pytest.raises(MalformedModelOutput, match="schema"):
        parse_answer(json.dumps(full_answer(note="hello")), workflow="full")


def test_unknown_prohibited_signal_is_refused():
    with pytest.raises(MalformedModelOutput):
        parse_answer(json.dumps(full_answer(x=["gambling 80"])), workflow="full")


def test_truncated_json_is_refused():
    with pytest.raises(MalformedModelOutput, match="not JSON"):
        parse_answer(json.dumps(full_answer())[:40], workflow="full")
