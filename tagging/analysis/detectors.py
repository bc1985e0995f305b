"""Local content-safety detection with a model that ships inside a PyPI wheel.

NudeNet's wheel carries its 320 px ONNX detector (nudenet/320n.onnx); we run it with
onnxruntime on the CPU and read only its "exposed" classes as the *adult* signal. The file
is found through the installed package, never downloaded. Without onnxruntime or the
package, ``adult_signal`` returns None and the local analyser reports no adult signal.
"""

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

_INPUT_SIDE = 320
# Indices into the detector's 18 classes (nudenet 3.4 label order).
_EXPOSED_CLASSES = {
    2: "buttocks exposed",
    3: "female breast exposed",
    4: "female genitalia exposed",
    6: "anus exposed",
    14: "male genitalia exposed",
}
_lock = threading.Lock()


def _model_path() -> Path | None:
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "320n.onnx"
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _session():
    path = _model_path()
    if path is None or importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # workers run in parallel processes already
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def detector_available() -> bool:
    return _session() is not None


def adult_signal(image: Image.Image) -> float | None:
    """The detector's highest score (0–1) for exposed nudity, or None without the detector."""
    session = _session()
    if session is None:
        return None
    rgb = image.convert("RGB")
    side = max(rgb.size)
    square = Image.new("RGB", (side, side), (0, 0, 0))
    square.paste(rgb, (0, 0))  # the model was trained on images padded right and bottom
    square = square.resize((_INPUT_SIDE, _INPUT_SIDE), Image.Resampling.BILINEAR)
    blob = (np.asarray(square, dtype=np.float32) / 255.0).transpose(2, 0, 1)[None]
    with _lock:
        output = session.run(None, {session.get_inputs()[0].name: blob})[0]
    class_scores = np.squeeze(output).T[:, 4:]
    return float(class_scores[:, list(_EXPOSED_CLASSES)].max())
