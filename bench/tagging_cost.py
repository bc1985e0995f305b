"""What a full analysis costs per image, measured from what the pipeline really sends and gets.

    .venv/bin/python bench/tagging_cost.py [--images 200]

Demo product images (catalog/demo.py) are saved through catalog.services.add_product_image,
which enqueues the analysis task (run inline here); the task prepares the image, calls the
loopback OpenAI-compatible server through the gateway and the real openai SDK, and stores
the provider-reported usage. The server counts tokens as providers bill (about four
characters a text token, 258 tokens a 768-px image tile) and answers what a model would
answer for that product, in the compact answer format. Prices: gemini-2.5-flash,
$0.30 in / $2.50 out per million tokens.

For comparison the same images are also sent, in the same run, the way a straightforward
design would send them: a 1024-px image, a descriptive prompt and a verbose answer schema
({"value", "confidence"} objects with float confidences, long keys).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.openai_server import FakeOpenAIServer

PRICE_IN, PRICE_OUT = Decimal("0.30"), Decimal("2.50")

STYLES = {
    "tshirt": "casual",
    "dress": "classic",
    "sneaker": "sporty",
    "tote": "casual",
    "mug": "minimalist",
    "lamp": "modern",
    "cushion": "bohemian",
    "headphones": "modern",
    "jar": "rustic",
    "basket": "handcrafted",
}
KEYWORDS = {
    "tshirt": ["crew neck", "short sleeve", "basic tee", "everyday top", "cotton tee"],
    "dress": ["midi dress", "sleeveless", "a-line", "day dress", "summer dress"],
    "sneaker": ["low top", "lace-up", "trainer", "rubber sole", "casual shoe"],
    "tote": ["shopping bag", "shoulder bag", "canvas tote", "everyday bag", "top handle"],
    "mug": ["coffee mug", "tea cup", "ceramic mug", "handle", "kitchen"],
    "lamp": ["table lamp", "lampshade", "bedside light", "desk lamp", "home lighting"],
    "cushion": ["throw pillow", "sofa cushion", "square cushion", "home decor", "soft furnishing"],
    "headphones": ["over-ear", "wireless", "headband", "audio", "music"],
    "jar": ["glass jar", "preserves", "jam", "pantry", "lid"],
    "basket": ["woven basket", "storage", "handle", "natural fibre", "handmade"],
}


def model_answer(product) -> dict:
    """What a model says about a demo product, in the pipeline's compact answer format."""
    category = product.category_path.lower().split("/")
    material = product.title.split()[-2] if product.kind != "headphones" else "plastic"
    season = "summer" if product.kind in {"tshirt", "dress", "tote"} else "all season"
    scores = (92, 87, 83, 78, 71)
    return {
        "a": [
            f"{category[0]}/{category[-1]} 94",
            f"{product.colour} 93",
            f"{material} 78",
            f"{STYLES[product.kind]} 72",
            f"{product.pattern} 90",
            f"{season} 65",
        ],
        "k": [f"{keyword} {score}" for keyword, score in zip(KEYWORDS[product.kind], scores, strict=True)],
        "x": [],
    }


def verbose_answer(product) -> dict:
    compact = model_answer(product)

    def item(value: str) -> dict:
        text, _, score = value.rpartition(" ")
        return {"value": text, "confidence": round(int(score) / 100, 2)}

    names = ("category", "primary_colour", "material", "style", "pattern", "season")
    answer = {name: item(value) for name, value in zip(names, compact["a"], strict=True)}
    answer["keywords"] = [item(keyword) for keyword in compact["k"]]
    answer["prohibited_content"] = {
        signal: {"detected": False, "confidence": 0.02}
        for signal in ("adult", "weapons", "drugs", "counterfeit", "hazardous")
    }
    return answer


VERBOSE_PROMPT = (
    "You are an expert e-commerce product cataloguer. Look carefully at the product photo and describe the "
    "product for our catalogue. Identify the product category and subcategory, the primary colour, the main "
    "material, the overall style, the pattern, and the season it suits best. Then list between five and eight "
    "search keywords that shoppers might type to find this product. For each value give a confidence between 0 "
    "and 1. Finally assess whether the image shows any prohibited content: adult content, weapons, drugs, "
    "counterfeit or trademark-infringing goods, or hazardous materials, each with a confidence between 0 and 1. "
    "Answer only with JSON matching the schema."
)


def verbose_schema() -> dict:
    value = {
        "type": "object",
        "properties": {"value": {"type": "string"}, "confidence": {"type": "number"}},
        "required": ["value", "confidence"],
        "additionalProperties": False,
    }
    signal = {
        "type": "object",
        "properties": {"detected": {"type": "boolean"}, "confidence": {"type": "number"}},
        "required": ["detected", "confidence"],
        "additionalProperties": False,
    }
    names = ["category", "primary_colour", "material", "style", "pattern", "season"]
    signals = ["adult", "weapons", "drugs", "counterfeit", "hazardous"]
    properties = {name: value for name in names} | {
        "keywords": {"type": "array", "items": value},
        "prohibited_content": {
            "type": "object",
            "properties": {name: signal for name in signals},
            "required": signals,
            "additionalProperties": False,
        },
    }
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def per_thousand(input_tokens: float, output_tokens: float) -> Decimal:
    per_image = (Decimal(str(input_tokens)) * PRICE_IN + Decimal(str(output_tokens)) * PRICE_OUT) / 1_000_000
    return per_image * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    arguments = parser.parse_args()

    server = FakeOpenAIServer(models=("gemini-2.5-flash",)).start()
    workdir = tempfile.mkdtemp(prefix="shelfsight-cost-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SHELFSIGHT_VAR_DIR": workdir,
            "BENCH_TASKS_SYNC": "1",
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-bench",
            "SHELFSIGHT_VISION_MODEL": "gemini-2.5-flash",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    import base64
    import io

    from catalog.demo import demo_products, draw_product_image
    from catalog.services import add_product_image, upsert_product
    from llm import gateway
    from llm.types import ChatRequest
    from tagging.analysis.prepare import prepare_image
    from tagging.analysis.prompts import PROMPT_VERSION
    from tagging.models import ImageAnalysis

    verbose_usage = []
    for product in demo_products(arguments.images):
        record, _ = upsert_product(sku=product.sku, title=product.title, price=product.price, status="active")
        content = draw_product_image(product)
        server.answer = json.dumps(model_answer(product), separators=(",", ":"))
        with transaction.atomic():
            add_product_image(product=record, upload=io.BytesIO(content))
        # The comparison design, same image, same server, same gateway.
        jpeg = prepare_image(content, max_side=1024).jpeg
        server.answer = json.dumps(verbose_answer(product), indent=1)
        result = gateway.complete(
            ChatRequest(
                route="vision-tagging",
                messages=[
                    {"role": "system", "content": VERBOSE_PROMPT},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": f"Product image for SKU {product.sku}:"},
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()},
                            },
                        ],
                    },
                ],
                response_schema=verbose_schema(),
                schema_name="product_analysis",
                needs_vision=True,
            )
        )
        verbose_usage.append((result.input_tokens, result.output_tokens))
    server.stop()

    analyses = list(ImageAnalysis.objects.filter(workflow="full"))
    succeeded = [analysis for analysis in analyses if analysis.status == ImageAnalysis.Status.SUCCEEDED]
    reused = [analysis for analysis in succeeded if analysis.reused_from_id]
    paid = [analysis for analysis in succeeded if not analysis.reused_from_id]
    mean_in = statistics.mean(analysis.input_tokens for analysis in paid)
    mean_out = statistics.mean(analysis.output_tokens for analysis in paid)
    stored_cost = sum((analysis.cost_usd for analysis in succeeded), Decimal("0"))
    verbose_in = statistics.mean(usage[0] for usage in verbose_usage)
    verbose_out = statistics.mean(usage[1] for usage in verbose_usage)

    print(f"images: {arguments.images}, analyses succeeded: {len(succeeded)}, reused (dedup, $0): {len(reused)}")
    print(f"{'design':28} {'in tok/img':>11} {'out tok/img':>12} {'$ per 1,000 images':>19}")
    for label, tokens_in, tokens_out in (
        (f"shelfsight ({PROMPT_VERSION})", mean_in, mean_out),
        ("verbose baseline", verbose_in, verbose_out),
    ):
        print(f"{label:28} {tokens_in:11.1f} {tokens_out:12.1f} {per_thousand(tokens_in, tokens_out):19.4f}")
    # The answer format allows up to 8 keywords; price that upper end with the same input.
    from tests.fakes.openai_server import estimate_text_tokens

    product = next(iter(demo_products(1)))
    longest = model_answer(product)
    longest["k"] = [*longest["k"], "graphic print tee 66", "unisex top 61", "regular fit 58"]
    longest_out = estimate_text_tokens(json.dumps(longest, separators=(",", ":")))
    print(f"{'  same, 8 keywords':28} {mean_in:11.1f} {longest_out:12.1f} {per_thousand(mean_in, longest_out):19.4f}")
    print(f"stored cost over all analyses: ${stored_cost} → ${stored_cost / len(succeeded) * 1000:.4f} per 1,000")


if __name__ == "__main__":
    main()
