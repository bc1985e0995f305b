"""The JSON Schema of the model's answer, one per workflow, kept short because it is billed.

Every value is "text NN": the text and an integer confidence 0–100. The six attributes come
as one fixed-order array ``a`` rather than six named keys, which saves output tokens (the
dearest ones: $2.50 against $0.30 per million at the seed price). The same schema goes out
as ``response_format`` and validates the answer that comes back.
"""

from typing import Any

PROHIBITED_SIGNALS = ("adult", "weapons", "drugs", "counterfeit", "hazardous")

# Facet names are tagging.models.Facet values; plain strings keep this package free of Django.
# Position in the answer's "a" array → facet. The category is "category/subcategory".
ATTRIBUTE_FACETS = ("category", "colour", "material", "style", "pattern", "season")
KEYWORD_FACET = "keyword"
ATTRIBUTES_KEY, KEYWORD_KEY, PROHIBITED_KEY = "a", "k", "x"
MIN_KEYWORDS, MAX_KEYWORDS = 5, 8

# The "text NN" shape of values is checked by tagging.analysis.parsing (with the 0–100 range),
# which refuses the answer just as a schema failure would; leaving the pattern out of the
# schema saves ~17 billed input tokens per image and suits providers whose strict mode
# ignores or refuses "pattern".
_VALUE = {"type": "string"}
_ATTRIBUTES = {
    "type": "array",
    "items": _VALUE,
    "minItems": len(ATTRIBUTE_FACETS),
    "maxItems": len(ATTRIBUTE_FACETS),
}
_KEYWORDS = {"type": "array", "items": _VALUE, "minItems": MIN_KEYWORDS, "maxItems": MAX_KEYWORDS}
_SIGNALS = {"type": "array", "items": {"type": "string", "pattern": rf"^({'|'.join(PROHIBITED_SIGNALS)}) \d+$"}}


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


def schema_name(workflow: str) -> str:
    return f"tags_{workflow}"
