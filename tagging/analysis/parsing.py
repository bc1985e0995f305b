"""Reading the model's answer: strip code fences, parse JSON, check its shape, turn into findings.

An answer is refused (MalformedModelOutput) only when it is unusable as a whole: not JSON, or
not the shape of the workflow's schema (keys, arrays, their lengths). A single value that
breaks its pattern ("navy" with no confidence, a confidence of 140, an unknown prohibited
signal) is dropped with a note on the findings; the rest of the answer stands. Every
instance of the schema parses (tests/tagging/test_answer_schema.py).
"""

import json
import re
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator

from tagging.analysis.schema import (
    ATTRIBUTE_FACETS,
    ATTRIBUTES_KEY,
    KEYWORD_FACET,
    KEYWORD_KEY,
    PROHIBITED_KEY,
    PROHIBITED_SIGNALS,
    WORKFLOWS_WITH_SCHEMA,
    schema_for,
    shape_of,
)

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
# The schema's VALUE_PATTERN, read leniently: any text with a letter or digit, then 0–100.
_VALUE = re.compile(r"^(?P<text>.*?[^\W_].*?)\s+(?P<confidence>100|[1-9]?[0-9])$", re.DOTALL)


class MalformedModelOutput(ValueError):
    """The answer was not JSON or not the shape of the schema; the message says why."""


VISION = "vision"
TEXT = "text"


@dataclass(frozen=True)
class Finding:
    """One thing found: a facet value, how sure the analyser is (0–1), and what it was found in:
    the image (VISION) or the product's own title and description (TEXT)."""

    facet: str
    value: str
    confidence: float
    evidence: str = VISION


@dataclass
class Findings:
    """What one analysis found, whichever analyser produced it, and what of the answer was dropped."""

    tags: list[Finding] = field(default_factory=list)
    prohibited: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        data = {
            # [facet, value, confidence], and the evidence as a fourth item when it is not the image.
            "tags": [
                [finding.facet, finding.value, round(finding.confidence, 3)]
                + ([finding.evidence] if finding.evidence != VISION else [])
                for finding in self.tags
            ],
            "prohibited": {signal: round(confidence, 3) for signal, confidence in self.prohibited.items()},
        }
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> "Findings":
        data = data or {}
        return cls(
            tags=[Finding(tag[0], tag[1], float(tag[2]), *tag[3:4]) for tag in data.get("tags", [])],
            prohibited={signal: float(value) for signal, value in data.get("prohibited", {}).items()},
            notes=list(data.get("notes", [])),
        )

    def seen_in_image(self) -> "Findings":
        """These findings without those read from the product's text (which belong to one product,
        not to the image's bytes)."""
        return Findings(
            tags=[finding for finding in self.tags if finding.evidence == VISION], prohibited=dict(self.prohibited)
        )


def unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text.strip()


_SHAPES = {
    workflow: Draft202012Validator(shape_of(schema_for(workflow))) for workflow in WORKFLOWS_WITH_SCHEMA
}


def parse_answer(text: str, *, workflow: str) -> Findings:
    """The findings in ``text``. Raises MalformedModelOutput when the answer is unusable as a whole."""
    try:
        data = json.loads(unfenced(text))
    except ValueError as error:
        raise MalformedModelOutput(f"The answer is not JSON ({error}).") from None
    errors = sorted(_SHAPES[workflow].iter_errors(data), key=lambda error: list(error.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(part) for part in first.absolute_path) or "(root)"
        raise MalformedModelOutput(f"The answer does not match the schema at {where}: {first.message[:200]}")
    findings = Findings()
    for index, (facet, value) in enumerate(zip(ATTRIBUTE_FACETS, data.get(ATTRIBUTES_KEY, []), strict=False)):
        _add_finding(findings, facet, value, where=f"{ATTRIBUTES_KEY}/{index}")
    for index, keyword in enumerate(data.get(KEYWORD_KEY, [])):
        _add_finding(findings, KEYWORD_FACET, keyword, where=f"{KEYWORD_KEY}/{index}")
    for index, signal in enumerate(data.get(PROHIBITED_KEY, [])):
        split = _split(signal)
        if split is None or split[0] not in PROHIBITED_SIGNALS:
            note = f"Dropped {PROHIBITED_KEY}/{index} {signal[:60]!r}: not a known signal with a confidence."
            findings.notes.append(note)
            continue
        name, confidence = split
        findings.prohibited[name] = max(confidence, findings.prohibited.get(name, 0.0))
    return findings


def _add_finding(findings: Findings, facet: str, value: str, *, where: str) -> None:
    split = _split(value)
    if split is None:
        findings.notes.append(f"Dropped {where} {value[:60]!r}: no words, or no confidence 0-100.")
        return
    text, confidence = split
    findings.tags.append(Finding(facet=facet, value=text, confidence=confidence))


def _split(value: str) -> tuple[str, float] | None:
    """ "red 92" → ("red", 0.92); None when there is no text or no confidence 0–100."""
    match = _VALUE.match(value.strip())
    if match is None:
        return None
    return match.group("text").strip(), int(match.group("confidence")) / 100
