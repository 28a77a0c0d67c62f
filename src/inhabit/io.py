"""Atomic file writing: a killed run never leaves a file that looks finished but is not.

Every writer goes through :func:`atomic_path`: write to a temporary sibling, then ``os.replace``.
Readers of user-supplied files (:func:`read_image`, :func:`read_json_object`) fail with one
sentence naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    ``suffix`` defaults to the final suffix of ``path`` so that writers that pick a format from
    the extension (PIL, imageio, numpy) still see it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix,
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # torch tensors without importing torch
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    return write_text(path, json.dumps(obj, indent=indent, default=_jsonable) + "\n")


def write_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """``np.savez_compressed`` atomically; torch tensors are converted to numpy."""
    conv = {}
    for k, v in arrays.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        conv[k] = np.asarray(v)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **conv)
    return Path(path)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an image (H,W), (H,W,3) or (H,W,4); floats are taken as [0,1], bools as masks."""
    from PIL import Image

    img = np.asarray(image)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    elif img.dtype != np.uint8:
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp)
    return Path(path)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as (H,W,3) uint8 RGB; a missing or unreadable file is an InputError."""
    from PIL import Image, UnidentifiedImageError

    from inhabit.errors import InputError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"image file {p} does not exist")
    try:
        with Image.open(p) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"image file {p} could not be read as an image ({e})") from None


def read_json_object(path: str | os.PathLike, what: str, expected: str = "a JSON object") -> dict:
    """The JSON object in a user-supplied file.

    Args:
        path: the file. what: what it is, for the messages (``"cameras file"``).
        expected: what the object should hold, for the message when the JSON is not an object.

    Raises:
        InputError: ``"<what> <path> does not exist"``, ``"... is not valid JSON (<reason>)"`` or
            ``"... must hold <expected>"``.
    """
    from inhabit.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{what} {path} is not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{what} {path} must hold {expected}")
    return doc
