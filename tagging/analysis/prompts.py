"""The versioned prompts. Change PROMPT_VERSION with any change of wording or schema:
every analysis records it, so answers can be compared per version."""

PROMPT_VERSION = "tagging-v2"  # v2: the "text NN" shape is in the schema (a pattern)

# Five keywords are asked for although the schema accepts 5–8: each keyword is ~4 output
# tokens at the dearest price, and the 8-tags-per-image cap writes attributes first, so
# keywords past the first two stay in the analysis result rather than becoming tags.

_VALUES = 'Product photo to JSON. Values "text NN", NN=confidence 0-100, lowercase singular, only what is visible. '
_ATTRIBUTES = "a=[category/subcategory,colour,material,style,pattern,season]; k=5 search keywords. "
_PROHIBITED = "x=prohibited signals seen (adult|weapons|drugs|counterfeit|hazardous) or []."

PROMPTS: dict[str, str] = {
    "full": _VALUES + _ATTRIBUTES + _PROHIBITED,
    "attributes": _VALUES + _ATTRIBUTES,
    "prohibited": _VALUES + _PROHIBITED,
}


def messages_for(*, workflow: str, image_data_url: str) -> list[dict]:
    """One user message: the instructions and the image (one message, one framing overhead)."""
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": PROMPTS[workflow].strip()},
                {"type": "image_url", "image_url": {"url": image_data_url}},
            ],
        }
    ]
