"""The analyser used when no model route is configured: real measurements, never guesses.

From the pixels it names the product's colour and, with the packaged detector, scores
pornographic content. From the product's own title and description it reads category,
material, style, pattern and season (tagging.analysis.text_attributes), marked as found in
the text. It proposes nothing else: no keyword, and no material or style the text does not
state, since offline vision cannot see those.
"""

from PIL import Image

from catalog.models import Product
from tagging.analysis.colours import dominant_colours
from tagging.analysis.detectors import adult_signal
from tagging.analysis.parsing import Finding, Findings
from tagging.analysis.text_attributes import text_attributes

ANALYSER_NAME = "local"
MODEL_NAME = "local-pixels-text-v2"
_TAG_WORKFLOWS = ("full", "attributes")


def analyse_locally(image: Image.Image, *, workflow: str, product: Product | None = None) -> Findings:
    """What the pixels of ``image`` show, and the title and description of its ``product``."""
    findings = Findings()
    if workflow in _TAG_WORKFLOWS:
        for colour in dominant_colours(image):
            findings.tags.append(Finding(facet="colour", value=colour.name, confidence=colour.confidence))
        if product is not None:
            findings.tags.extend(text_attributes(title=product.title, description=product.description))
    if workflow in ("full", "prohibited"):
        score = adult_signal(image)
        if score is not None:
            findings.prohibited["adult"] = round(score, 3)
    return findings


def with_this_products_text(findings: Findings, *, workflow: str, product: Product) -> Findings:
    """``findings`` of an earlier local analysis of the same image bytes, for another product:
    what was read from that product's text is replaced by what this one's says."""
    kept = findings.seen_in_image()
    if workflow in _TAG_WORKFLOWS:
        kept.tags.extend(text_attributes(title=product.title, description=product.description))
    return kept
