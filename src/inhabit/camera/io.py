"""``cameras.json``: the camera interchange file (written by ``inhabit views``, read by ``inhabit pose``).

Format ``inhabit.cameras/1`` (OpenCV cameras, world +Z up, metres)::

    {"format": "inhabit.cameras/1", "up": [0, 0, 1], "look_at": [x, y, z],
     "views": [{"name": "view000", "image": "view000.png", "width": 512, "height": 512,
                "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],
                "T_cam_world": [[r, r, r, t], [r, r, r, t], [r, r, r, t], [0, 0, 0, 1]],
                "vis_ratio": 0.93}]}

``image`` is relative to the JSON file's folder (absolute paths are allowed) and optional;
extra keys in a view (``vis_ratio``…) are kept in ``Camera.meta``. Reading validates everything
and names the file and the view in one sentence when something is wrong.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inhabit.camera.pinhole import Camera
from inhabit.conventions import UP
from inhabit.errors import InputError
from inhabit.io import read_json_object, write_json

FORMAT = "inhabit.cameras/1"
ROTATION_TOLERANCE = 1e-4
"""Largest accepted deviation of RᵀR from I, and of det R from 1."""

_KNOWN_KEYS = {"name", "image", "width", "height", "K", "T_cam_world"}


@dataclass
class CameraSet:
    """The contents of a cameras.json.

    Attributes:
        cameras: the views, in file order (extra per-view keys in ``meta``).
        look_at: (3,) the point the views look at, or None if the file has none.
        image_paths: absolute path of each view's image, or None where the view names no image.
        up: (3,) the world up the file declares.
        path: the file read.
        extra: the file's other top-level keys (what ``write_cameras_json(extra=...)`` wrote, e.g.
            ``selection``).
    """

    cameras: list[Camera]
    look_at: np.ndarray | None
    image_paths: list[Path | None]
    up: np.ndarray = field(default_factory=lambda: UP.copy())
    path: Path | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cameras)


def write_cameras_json(
    path: str | os.PathLike,
    cameras: Sequence[Camera],
    look_at: np.ndarray | Sequence[float] | None,
    images: Sequence[str | os.PathLike | None] | None = None,
    up: np.ndarray | Sequence[float] = UP,
    extra: dict | None = None,
) -> Path:
    """Write ``cameras`` atomically.

    Args:
        path: the JSON file.
        cameras: views; ``meta`` entries that are plain numbers/strings are written with each view.
        look_at: (3,) the point the views look at.
        images: one image path per camera, written relative to the JSON's folder when inside it;
            None = ``<name>.png`` for every camera; a None entry = no image for that view.
        up: (3,) world up (inhabit: +Z).
        extra: more top-level keys (e.g. ``{"normal": [...]}``).
    """
    path = Path(path)
    names = [c.name for c in cameras]
    if len(set(names)) != len(names):
        raise ValueError(f"camera names must be unique, got {names}")
    if images is not None and len(images) != len(cameras):
        raise ValueError(f"{len(images)} image names for {len(cameras)} cameras")
    views = []
    for i, cam in enumerate(cameras):
        v = cam.to_dict()
        img = f"{cam.name}.png" if images is None else images[i]
        if img is not None:
            ip = Path(img)
            if ip.is_absolute():
                try:
                    ip = ip.relative_to(path.parent.resolve())
                except ValueError:
                    pass
            v = {"name": v["name"], "image": ip.as_posix(), **{k: x for k, x in v.items() if k != "name"}}
        for k, x in cam.meta.items():
            if k not in v and isinstance(x, int | float | str | bool):
                v[k] = x
        views.append(v)
    doc = {
        "format": FORMAT,
        "up": [float(x) for x in np.asarray(up, np.float64).reshape(3)],
        "look_at": None if look_at is None else [float(x) for x in np.asarray(look_at, np.float64).reshape(3)],
        **(extra or {}),
        "views": views,
    }
    return write_json(path, doc)


def _matrix(path: Path, where: str, key: str, value, shape: tuple[int, int]) -> np.ndarray:
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {where} has a {key} that is not a {shape[0]}x{shape[1]} matrix of numbers") from None
    if m.shape != shape:
        raise InputError(f"{path}: {where} has a {key} of shape {tuple(m.shape)}, expected {shape[0]}x{shape[1]}")
    if not np.all(np.isfinite(m)):
        raise InputError(f"{path}: {where} has a {key} with NaN or infinite entries")
    return m


def _positive_int(path: Path, where: str, key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value <= 0:
        raise InputError(f"{path}: {where} has {key} = {value!r}, expected a positive integer (pixels)")
    return int(value)


def _validate_view(path: Path, i: int, v) -> tuple[Camera, str | None]:
    if not isinstance(v, dict):
        raise InputError(f"{path}: view #{i} is not a JSON object")
    name = v.get("name", f"view{i:03d}")
    if not isinstance(name, str) or not name:
        raise InputError(f"{path}: view #{i} has a name that is not a non-empty string")
    where = f"view {name!r}"
    for key in ("width", "height", "K", "T_cam_world"):
        if key not in v:
            raise InputError(f"{path}: {where} has no {key!r}")
    W = _positive_int(path, where, "width", v["width"])
    H = _positive_int(path, where, "height", v["height"])
    K = _matrix(path, where, "K", v["K"], (3, 3))
    if not (K[0, 0] > 0 and K[1, 1] > 0) or K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
        raise InputError(
            f"{path}: {where} has K = {K.tolist()}, expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0"
        )
    T = _matrix(path, where, "T_cam_world", v["T_cam_world"], (4, 4))
    if np.abs(T[3] - [0, 0, 0, 1]).max() > ROTATION_TOLERANCE:
        raise InputError(f"{path}: {where} has T_cam_world whose last row is {T[3].tolist()}, expected [0, 0, 0, 1]")
    R = T[:3, :3]
    ortho = float(np.abs(R.T @ R - np.eye(3)).max())
    if ortho > ROTATION_TOLERANCE:
        raise InputError(
            f"{path}: {where} has T_cam_world whose 3x3 block is not orthonormal (max |RᵀR − I| = {ortho:.2g} > "
            f"{ROTATION_TOLERANCE:g}): expected a rotation and a translation"
        )
    det = float(np.linalg.det(R))
    if abs(det - 1.0) > ROTATION_TOLERANCE:
        raise InputError(
            f"{path}: {where} has T_cam_world whose 3x3 block has determinant {det:.4g}, expected +1 (a rotation, "
            f"not a reflection)"
        )
    image = v.get("image")
    if image is not None and (not isinstance(image, str) or not image):
        raise InputError(f"{path}: {where} has an image entry that is not a file name")
    meta = {k: x for k, x in v.items() if k not in _KNOWN_KEYS}
    return Camera(K, T, W, H, name, meta), image


def read_cameras_json(path: str | os.PathLike, require_images: bool = True) -> CameraSet:
    """Read and validate a cameras.json.

    Args:
        path: the file.
        require_images: a view's ``image`` must exist (relative to the file's folder).

    Raises:
        InputError: one sentence naming the file (and the view) at fault: missing/unparsable file,
            wrong ``format``, no views, duplicate names, wrong shapes, K not upper-triangular with
            positive focal lengths, a non-rotation (|RᵀR − I| or |det R − 1| above 1e-4), a missing image.
    """
    path = Path(path)
    doc = read_json_object(path, "cameras file", "a JSON object with 'format' and 'views'")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise InputError(f"{path}: 'format' is {fmt!r}, expected {FORMAT!r}")
    views = doc.get("views")
    if not isinstance(views, list) or not views:
        raise InputError(f"{path}: 'views' must be a non-empty list")
    up = doc.get("up", [0.0, 0.0, 1.0])
    try:
        up_arr = np.asarray(up, np.float64).reshape(3)
        ok = bool(np.all(np.isfinite(up_arr))) and math.isclose(float(np.linalg.norm(up_arr)), 1.0, abs_tol=1e-3)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"{path}: 'up' is {up!r}, expected a unit 3-vector")
    look = doc.get("look_at")
    look_arr = None
    if look is not None:
        try:
            look_arr = np.asarray(look, np.float64).reshape(3)
        except (TypeError, ValueError):
            look_arr = None
        if look_arr is None or not np.all(np.isfinite(look_arr)):
            raise InputError(f"{path}: 'look_at' is {look!r}, expected three numbers (x, y, z)")
    cams, paths, seen = [], [], set()
    for i, v in enumerate(views):
        cam, image = _validate_view(path, i, v)
        if cam.name in seen:
            raise InputError(f"{path}: two views are named {cam.name!r}; view names must be unique")
        seen.add(cam.name)
        ip = None
        if image is not None:
            ip = Path(image) if Path(image).is_absolute() else path.parent / image
            if require_images and not ip.is_file():
                raise InputError(f"{path}: view {cam.name!r} names image {image!r}, but {ip} does not exist")
        cams.append(cam)
        paths.append(ip)
    extra = {k: v for k, v in doc.items() if k not in ("format", "views", "up", "look_at")}
    return CameraSet(cams, look_arr, paths, up_arr, path, extra)
