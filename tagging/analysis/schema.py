"""The JSON Schema of the model's answer, one per workflow: the contract with the model.

Every value is "text NN": the text and an integer confidence 0–100, and the schema says so
with a pattern, so what a provider in strict mode is held to is exactly what the parser
reads (tagging.analysis.parsing accepts every instance of these schemas). The six attributes
come as one fixed-order array ``a`` rather than six named keys, which saves output tokens
(the dearest ones: $2.50 against $0.30 per million at the seed price). The same schema goes
out as ``response_format`` and validates the answer that comes back.
"""

from typing import Any

PROHIBITED_SIGNALS = ("adult", "weapons", "drugs", "counterfeit", "hazardous")

# Facet names are tagging.models.Facet values; plain strings keep this package free of Django.
# Position in the answer's "a" array → facet. The category is "category/subcategory".
ATTRIBUTE_FACETS = ("category", "colour", "material", "style", "pattern", "season")
KEYWORD_FACET = "keyword"
ATTRIBUTES_KEY, KEYWORD_KEY, PROHIBITED_KEY = "a", "k", "x"
MIN_KEYWORDS, MAX_KEYWORDS = 5, 8

# "navy blue 93", "clothing/t-shirts 88": lower-case words, then a space and 0–100. The
# characters are the ones catalogue words need; a strict provider cannot answer others.
CONFIDENCE_PATTERN = "(100|[1-9]?[0-9])"
VALUE_PATTERN = f"^[a-z0-9][a-z0-9 &'/.-]{{0,47}} {CONFIDENCE_PATTERN}$"
SIGNAL_PATTERN = f"^({'|'.join(PROHIBITED_SIGNALS)}) {CONFIDENCE_PATTERN}$"

_VALUE = {"type": "string", "pattern": VALUE_PATTERN}
_ATTRIBUTES = {
    "type": "array",
    "items": _VALUE,
    "minItems": len(ATTRIBUTE_FACETS),
    "maxItems": len(ATTRIBUTE_FACETS),
}
_KEYWORDS = {"type": "array", "items": _VALUE, "minItems": MIN_KEYWORDS, "maxItems": MAX_KEYWORDS}
_SIGNALS = {"type": "array", "items": {"type": "string", "pattern": SIGNAL_PATTERN}}

WORKFLOWS_WITH_SCHEMA = ("full", "attributes", "prohibited")


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def schema_for(workflow: str) -> dict[str, Any] | None:
    """The answer schema of ``workflow``; None for workflows that need no model (quality)."""
    if workflow == "full":
        return _object({ATTRIBUTES_KEY: _ATTRIBUTES, KEYWORD_KEY: _KEYWORDS, PROHIBITED_KEY: _SIGNALS})
    if workflow == "attributes":
        return _object({ATTRIBUTES_KEY: _ATTRIBUTES, KEYWORD_KEY: _KEYWORDS})
    if workflow == "prohibited":
        return _object({PROHIBITED_KEY: _SIGNALS})
    return None


def shape_of(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its value patterns: the structure an answer must have to be usable.

    A value that breaks its pattern (a model not held to the schema wrote "navy" without a
    confidence) costs that value only, never the whole answer."""
    if isinstance(schema, dict):
        return {key: shape_of(value) for key, value in schema.items() if key != "pattern"}
    return schema


def schema_name(workflow: str) -> str:
    return f"tags_{workflow}"
