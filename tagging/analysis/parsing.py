"""Reading the model's answer: strip code fences, parse JSON, validate, turn into findings."""

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
    schema_for,
)

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_VALUE = re.compile(r"^(?P<text>.*\S)\s+(?P<confidence>\d{1,3})$")


class MalformedModelOutput(Exception):
    """The answer was not JSON or did not match the schema; the message says why."""


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
    """What one analysis found, whichever analyser produced it."""

    tags: list[Finding] = field(default_factory=list)
    prohibited: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            # [facet, value, confidence], and the evidence as a fourth item when it is not the image.
            "tags": [
                [finding.facet, finding.value, round(finding.confidence, 3)]
                + ([finding.evidence] if finding.evidence != VISION else [])
                for finding in self.tags
            ],
            "prohibited": {signal: round(confidence, 3) for signal, confidence in self.prohibited.items()},
        }

    @classmethod
    def from_json(cls, data: dict | None) -> "Findings":
        data = data or {}
        return cls(
            tags=[Finding(tag[0], tag[1], float(tag[2]), *tag[3:4]) for tag in data.get("tags", [])],
            prohibited={signal: float(value) for signal, value in data.get("prohibited", {}).items()},
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


def parse_answer(text: str, *, workflow: str) -> Findings:
    """Validate ``text`` against the workflow's schema. Raises MalformedModelOutput."""
    try:
        data = json.loads(unfenced(text))
    except ValueError as error:
        raise MalformedModelOutput(f"The answer is not JSON ({error}).") from None
    validator = Draft202012Validator(schema_for(workflow))
    errors = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(part) for part in first.absolute_path) or "(root)"
        raise MalformedModelOutput(f"The answer does not match the schema at {where}: {first.message[:200]}")
    findings = Findings()
    for index, (facet, value) in enumerate(zip(ATTRIBUTE_FACETS, data.get(ATTRIBUTES_KEY, []), strict=False)):
        findings.tags.append(_finding(facet, value, where=f"{ATTRIBUTES_KEY}/{index}"))
    for index, keyword in enumerate(data.get(KEYWORD_KEY, [])):
        findings.tags.append(_finding(KEYWORD_FACET, keyword, where=f"{KEYWORD_KEY}/{index}"))
    for index, signal in enumerate(data.get(PROHIBITED_KEY, [])):
        name, confidence = _split(signal, where=f"{PROHIBITED_KEY}/{index}")
        findings.prohibited[name] = max(confidence, findings.prohibited.get(name, 0.0))
    return findings


def _finding(facet: str, value: str, *, where: str) -> Finding:
    text, confidence = _split(value, where=where)
    return Finding(facet=facet, value=text, confidence=confidence)


def _split(value: str, *, where: str) -> tuple[str, float]:
    """ "red 92" → ("red", 0.92). The schema leaves this shape to us, so refusals read like its own."""
    match = _VALUE.match(value.strip())
    if match is None:
        raise MalformedModelOutput(
            f"The answer does not match the schema at {where}: {value[:80]!r} lacks a confidence"
        )
    confidence = int(match.group("confidence"))
    if confidence > 100:
        raise MalformedModelOutput(f"The answer does not match the schema at {where}: confidence above 100")
    return match.group("text").strip(), confidence / 100
