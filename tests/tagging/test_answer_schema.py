"""The schema is the contract: every answer a strict provider may give parses.

hypothesis-jsonschema generates instances of each workflow's schema, as a provider held to
it in strict mode may answer; each one must parse into findings without an error.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from tagging.analysis.parsing import parse_answer
from tagging.analysis.schema import schema_for

WORKFLOWS_WITH_SCHEMA = ("full", "attributes", "prohibited")


@pytest.mark.parametrize("workflow", WORKFLOWS_WITH_SCHEMA)
def test_the_schema_is_a_valid_json_schema(workflow):
    Draft202012Validator.check_schema(schema_for(workflow))


@pytest.mark.parametrize("workflow", WORKFLOWS_WITH_SCHEMA)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_instance_of_the_schema_parses(workflow, data):
    answer = data.draw(from_schema(schema_for(workflow)))

    findings = parse_answer(json.dumps(answer), workflow=workflow)

    values = len(answer.get("a", [])) + len(answer.get("k", []))
    assert len(findings.tags) + len(findings.notes) >= values
    assert all(0 <= finding.confidence <= 1 for finding in findings.tags)
    assert set(findings.prohibited) <= {"adult", "weapons", "drugs", "counterfeit", "hazardous"}
    assert findings.notes == []  # nothing an instance of the schema says is dropped
