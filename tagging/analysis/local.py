"""The analyser used when no model route is configured: real measurements, never guesses.

It names the product's dominant colours, measures photo quality, and, where the packaged
detector is installed, scores exposed nudity. It proposes no category, material, style or
keyword: it cannot see those, so it does not say them.
"""

from PIL import Image

from tagging.analysis.colours import dominant_colours
from tagging.analysis.detectors import adult_signal
from tagging.analysis.parsing import Finding, Findings

ANALYSER_NAME = "local"
MODEL_NAME = "local-pixels-v1"


def analyse_locally(image: Image.Image, *, workflow: str) -> Findings:
    findings = Findings()
    if workflow in ("full", "attributes"):
        for colour in dominant_colours(image):
            findings.tags.append(Finding(facet="colour", value=colour.name, confidence=colour.confidence))
    if workflow in ("full", "prohibited"):
        score = adult_signal(image)
        if score is not None:
            findings.prohibited["adult"] = round(score, 3)
    return findings
