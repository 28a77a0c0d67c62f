"""Loading mediapipe 0.10.21 quietly and finding its bundled models (shared by keypoints and masks).

Why a helper: mediapipe is imported lazily (never at ``import inhabit``), and two harmless kinds of
noise come with it on this stack:

* with protobuf 6.x its C++ bindings print ``AttributeError: 'MessageFactory' object has no
  attribute 'GetPrototype'`` through Python's ``sys.stderr`` at import. :func:`import_mediapipe`
  captures ``sys.stderr`` during the import and re-emits everything *except* that exact line;
* the first ``process`` call of a graph prints TFLite/absl start-up lines (``Created TensorFlow Lite
  XNNPACK delegate``, ``All log messages before absl::InitializeLog()``, ``Feedback manager
  requires a model with a single signature``) straight to file descriptor 2.
  :func:`quiet_native_stderr` redirects fd 2 to a temporary file for that one call and replays every
  line that is not one of those known messages, so nothing real is lost (only delayed). Set
  ``INHABIT_MEDIAPIPE_VERBOSE=1`` to see everything.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from inhabit.errors import MissingWeightsError

MEDIAPIPE_VERSION = "0.10.21"
"""The mediapipe release inhabit is built against: the newest with ``mp.solutions`` and bundled models."""

INSTALL_HINT = (
    f"pip install --no-deps mediapipe=={MEDIAPIPE_VERSION} absl-py attrs flatbuffers matplotlib "
    "'protobuf>=6.31.1,<7' (later releases ship neither mp.solutions nor the .tflite models)"
)

BUNDLED_MODELS: dict[str, str] = {
    "pose_detection": "modules/pose_detection/pose_detection.tflite",
    "pose_landmark_full": "modules/pose_landmark/pose_landmark_full.tflite",
    "pose_landmark_graph": "modules/pose_landmark/pose_landmark_cpu.binarypb",
    "selfie_segmentation": "modules/selfie_segmentation/selfie_segmentation.tflite",
    "selfie_segmentation_landscape": "modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
    "selfie_segmentation_graph": "modules/selfie_segmentation/selfie_segmentation_cpu.binarypb",
}
"""Files inside the mediapipe package that the offline detectors need (relative to the package)."""

_HARMLESS_IMPORT_LINE = "AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'"
_HARMLESS_NATIVE = (
    _HARMLESS_IMPORT_LINE,
    "Created TensorFlow Lite XNNPACK delegate for CPU",
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "inference_feedback_manager.cc",
    "landmark_projection_calculator.cc",
)
_fd_lock = threading.Lock()


def _verbose() -> bool:
    return os.environ.get("INHABIT_MEDIAPIPE_VERBOSE", "0") not in ("0", "", "false", "no")


def package_dir() -> Path | None:
    """The installed mediapipe package folder, found without importing it (None if absent)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("mediapipe")
    except metadata.PackageNotFoundError:
        return None


def bundled_model_path(key: str) -> Path:
    """Path of one bundled model file (see :data:`BUNDLED_MODELS`).

    Raises:
        MissingWeightsError: mediapipe is not installed or the file is not in the package.
    """
    root = package_dir()
    if root is None:
        raise MissingWeightsError(f"mediapipe is not installed; install it with {INSTALL_HINT}")
    path = root / BUNDLED_MODELS[key]
    if not path.is_file():
        raise MissingWeightsError(
            f"the mediapipe model file {path} is missing (mediapipe {installed_version()} does not bundle it); "
            f"install {INSTALL_HINT}"
        )
    return path


def import_mediapipe():
    """Import mediapipe, dropping only its known harmless protobuf-6 import line.

    Raises:
        MissingWeightsError: mediapipe is missing, or a release without ``mp.solutions``.
    """
    if "mediapipe" in sys.modules:
        mp = sys.modules["mediapipe"]
    else:
        buf = io.StringIO()
        try:
            with contextlib.redirect_stderr(buf):
                import mediapipe as mp
        except ImportError as e:
            raise MissingWeightsError(f"mediapipe could not be imported ({e}); install it with {INSTALL_HINT}") from None
        finally:
            rest = [ln for ln in buf.getvalue().splitlines() if _verbose() or ln.strip() != _HARMLESS_IMPORT_LINE]
            if rest:
                print("\n".join(rest), file=sys.stderr)
    if not hasattr(mp, "solutions"):
        raise MissingWeightsError(
            f"mediapipe {installed_version()} has no mp.solutions (the offline BlazePose and selfie-segmentation "
            f"graphs); install {INSTALL_HINT}"
        )
    return mp


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Hold back fd-2 output of native code for the duration; replay all but known start-up noise.

    Used around the creation and the first ``process`` call of a mediapipe graph only. While it is
    active, other threads' writes to fd 2 are delayed until it exits (not lost). mediapipe's
    protobuf-6 ``DeprecationWarning`` (``label() is deprecated``) is ignored inside it too.
    """
    if _verbose():
        yield
        return
    with _fd_lock, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mediapipe\.")
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                text = tmp.read().decode("utf-8", errors="replace")
                keep = [ln for ln in text.splitlines() if ln.strip() and not any(h in ln for h in _HARMLESS_NATIVE)]
                if keep:
                    os.write(2, ("\n".join(keep) + "\n").encode())
