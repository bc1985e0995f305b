"""Answers the loopback model server gives in reliability and scale runs: valid for the
schema the request itself carries (as a model in strict mode answers), and different from
image to image (picked from a hash of the request)."""

import hashlib
import json

COLOURS = ("red", "blue", "green", "black", "white", "navy")
MATERIALS = ("cotton", "leather", "wool", "denim")
KEYWORDS = ["shirt 90", "short sleeve 85", "button front 80", "collar 80", "cotton shirt 75"]


def _facet_values(digest: bytes) -> dict[str, str]:
    return {
        "category": "clothing/shirts 93",
        "colour": f"{COLOURS[digest[0] % len(COLOURS)]} 96",
        "material": f"{MATERIALS[digest[1] % len(MATERIALS)]} 91",
        "style": "casual 88",
        "pattern": "solid 92",
        "season": "summer 70",
    }


def tagging_answer(body: dict) -> str:
    """Five to six confident attribute tags, five keywords, no prohibited signal."""
    from tagging.analysis import schema as answer_schema

    digest = hashlib.sha256(json.dumps(body.get("messages", []), sort_keys=True).encode()).digest()
    values = _facet_values(digest)
    wanted = body.get("response_format", {}).get("json_schema", {}).get("schema", {}).get("properties")
    facets = getattr(answer_schema, "ATTRIBUTE_FACETS", tuple(values))
    answer = {
        getattr(answer_schema, "ATTRIBUTES_KEY", "a"): [values.get(facet, f"{facet} 80") for facet in facets],
        answer_schema.KEYWORD_KEY: KEYWORDS,
        answer_schema.PROHIBITED_KEY: [],
    }
    if wanted is not None:
        answer = {key: value for key, value in answer.items() if key in wanted}
    return json.dumps(answer)
