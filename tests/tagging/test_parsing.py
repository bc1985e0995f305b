"""Reading answers: fences, JSON, the schema's shape and the compact "text NN" values."""

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
    assert findings.notes == []


def test_a_confidence_over_100_drops_that_value_with_a_note_and_keeps_the_rest():
    findings = parse_answer(json.dumps(full_answer(co="navy 140")), workflow="full")

    assert "colour" not in {finding.facet for finding in findings.tags}
    assert "material" in {finding.facet for finding in findings.tags}
    assert findings.notes and "a/1" in findings.notes[0]


def test_a_value_without_words_or_confidence_is_dropped_with_a_note():
    answer = full_answer(m="", s="casual", k=["- 80", "tee 80", "top 80", "a 1", "b 2"])

    findings = parse_answer(json.dumps(answer), workflow="full")

    assert {finding.facet for finding in findings.tags} >= {"category", "colour", "keyword"}
    assert not {"material", "style"} & {finding.facet for finding in findings.tags}
    assert len(findings.notes) == 3
    assert findings.as_json()["notes"] == findings.notes


def test_extra_keys_are_refused():
    with pytest.raises(MalformedModelOutput, match="schema"):
        parse_answer(json.dumps(full_answer(note="hello")), workflow="full")


def test_too_few_attributes_are_refused():
    answer = full_answer()
    answer["a"] = answer["a"][:3]

    with pytest.raises(MalformedModelOutput, match="schema at a"):
        parse_answer(json.dumps(answer), workflow="full")


def test_unknown_prohibited_signal_is_dropped_with_a_note():
    findings = parse_answer(json.dumps(full_answer(x=["gambling 80", "weapons 90"])), workflow="full")

    assert findings.prohibited == {"weapons": 0.9}
    assert len(findings.notes) == 1 and "gambling" in findings.notes[0]


def test_truncated_json_is_refused():
    with pytest.raises(MalformedModelOutput, match="not JSON"):
        parse_answer(json.dumps(full_answer())[:40], workflow="full")
