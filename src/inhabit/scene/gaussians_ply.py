"""Read and write 3D Gaussian splatting ``.ply`` files (the reference implementation's layout).

One ``vertex`` element, binary little-endian float32, properties in this order::

    x y z  nx ny nz  f_dc_0 f_dc_1 f_dc_2  f_rest_0 … f_rest_{3(K-1)-1}  opacity
    scale_0 scale_1 scale_2  rot_0 rot_1 rot_2 rot_3

* ``f_dc_c`` is the degree-0 SH coefficient of channel c; ``f_rest`` holds the higher bands
  **channel-major**: ``f_rest_{c·(K-1) + (k-1)}`` is coefficient k (1..K-1) of channel c, where
  K = (d+1)² and d is the SH degree (so 0, 9, 24 or 45 ``f_rest`` properties).
* ``opacity`` is the pre-sigmoid logit, ``scale_i`` are log standard deviations.
* ``rot_0..3`` are the quaternion **w, x, y, z** (not necessarily unit); inhabit keeps XYZW inside,
  so the order is converted here.
* ``nx ny nz`` are written as zeros and ignored on reading.

The reader accepts any property order, extra properties, other elements, ``binary_big_endian``
and ``ascii`` files, and float64 values. Anything else is an :class:`~inhabit.errors.InputError`
naming the file and what was missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from inhabit.errors import InputError
from inhabit.scene.gaussians import GaussianSet

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}
REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
            "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")
_MAX_HEADER = 1 << 20


def _parse_header(path: Path, data: bytes) -> tuple[str, list[dict], int]:
    if not data.startswith(b"ply"):
        raise InputError(f"{path} is not a PLY file (it does not start with 'ply')")
    end = data.find(b"end_header", 0, _MAX_HEADER)
    if end < 0:
        raise InputError(f"{path} is not a valid PLY file (no 'end_header' line in its first MiB)")
    body_start = data.find(b"\n", end) + 1
    lines = data[:end].decode("ascii", errors="replace").splitlines()
    fmt = None
    elements: list[dict] = []
    for raw in lines[1:]:
        parts = raw.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format" and len(parts) >= 2:
            fmt = parts[1]
        elif parts[0] == "element" and len(parts) == 3:
            elements.append({"name": parts[1], "count": int(parts[2]), "props": [], "has_list": False})
        elif parts[0] == "property" and elements:
            if len(parts) >= 2 and parts[1] == "list":
                elements[-1]["has_list"] = True
                elements[-1]["props"].append((parts[-1], None))
            elif len(parts) == 3 and parts[1] in _PLY_TYPES:
                elements[-1]["props"].append((parts[2], _PLY_TYPES[parts[1]]))
            else:
                raise InputError(f"{path}: unsupported PLY property line {raw.strip()!r}")
    if fmt not in ("binary_little_endian", "binary_big_endian", "ascii"):
        raise InputError(f"{path}: unsupported PLY format {fmt!r} (expected binary_little_endian, "
                         "binary_big_endian or ascii)")
    return fmt, elements, body_start


def is_gaussian_ply(path: str | os.PathLike) -> bool:
    """True when ``path`` is a PLY whose vertex element has the 3DGS properties (cheap: header only)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(_MAX_HEADER)
        _, elements, _ = _parse_header(p, head)
    except (OSError, InputError):
        return False
    vert = next((e for e in elements if e["name"] == "vertex"), None)
    if vert is None:
        return False
    names = {n for n, _ in vert["props"]}
    return all(r in names for r in REQUIRED)


def _read_vertex_table(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise InputError(f"Gaussian splat file {path} does not exist")
    data = path.read_bytes()
    fmt, elements, start = _parse_header(path, data)
    vert = next((e for e in elements if e["name"] == "vertex"), None)
    if vert is None:
        raise InputError(f"{path} is not a 3D Gaussian splatting PLY: it has no 'vertex' element")
    names = [n for n, _ in vert["props"]]
    missing = [r for r in REQUIRED if r not in names]
    if missing:
        raise InputError(
            f"{path} is not a 3D Gaussian splatting PLY: the vertex element lacks {', '.join(missing)} "
            "(expected x,y,z, f_dc_0..2, opacity, scale_0..2, rot_0..3)"
        )
    if vert["has_list"]:
        raise InputError(f"{path}: the vertex element has list properties, which 3DGS files never have")

    if fmt == "ascii":
        text = data[start:].decode("ascii", errors="replace").splitlines()
        row = 0
        for e in elements:
            if e is vert:
                break
            row += e["count"]
        rows = text[row:row + vert["count"]]
        if len(rows) < vert["count"]:
            raise InputError(f"{path} is truncated: {len(rows)} of {vert['count']} vertex rows present")
        try:
            arr = np.array([r.split() for r in rows], dtype=np.float64)
        except ValueError:
            raise InputError(f"{path}: the ascii vertex rows are not all numbers with {len(names)} columns") from None
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise InputError(f"{path}: the ascii vertex rows do not have {len(names)} columns")
        return {n: arr[:, i] for i, n in enumerate(names)}

    order = "<" if fmt == "binary_little_endian" else ">"
    offset = start
    for e in elements:
        if e is vert:
            break
        if e["has_list"]:
            raise InputError(f"{path}: element {e['name']!r} with list properties precedes the vertices; "
                             "not a 3D Gaussian splatting PLY")
        offset += e["count"] * int(sum(np.dtype(t).itemsize for _, t in e["props"]))
    dtype = np.dtype([(n, order + t) for n, t in vert["props"]])
    need = vert["count"] * dtype.itemsize
    if len(data) - offset < need:
        raise InputError(f"{path} is truncated: the vertex data needs {need} bytes, {max(0, len(data) - offset)} "
                         "are present")
    table = np.frombuffer(data, dtype=dtype, count=vert["count"], offset=offset)
    # One native-byte-order copy per column (torch cannot take big-endian arrays); float32 stays float32.
    return {n: table[n].astype(table[n].dtype.newbyteorder("="), copy=True) for n in names}


def read_gaussians_ply(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> GaussianSet:
    """Read a 3DGS ``.ply`` in its file frame (no up-axis change; see
    :func:`inhabit.scene.gaussians.load_gaussian_scene` for that).

    Returns:
        A :class:`GaussianSet` with SH colours ``(N, (d+1)², 3)`` and XYZW quaternions.

    Raises:
        InputError: missing file, not a PLY, missing 3DGS properties (named), a wrong number of
            ``f_rest`` properties, truncated data, or non-finite values (field named).
    """
    path = Path(path)
    t = _read_vertex_table(path)
    n = len(t["x"])
    rest_names = sorted((k for k in t if k.startswith("f_rest_")), key=lambda s: int(s.split("_")[-1]))
    n_rest = len(rest_names)
    if n_rest % 3 or ((n_rest // 3 + 1) not in (1, 4, 9, 16)):
        raise InputError(f"{path}: {n_rest} f_rest properties is not 3·((d+1)²-1) for an SH degree d in 0..3")
    if rest_names != [f"f_rest_{i}" for i in range(n_rest)]:
        raise InputError(f"{path}: the f_rest properties are not numbered 0..{n_rest - 1} without gaps")
    k = n_rest // 3 + 1
    sh = np.zeros((n, k, 3), dtype=np.result_type(t["f_dc_0"], np.float32))
    for c in range(3):
        sh[:, 0, c] = t[f"f_dc_{c}"]
        for j in range(k - 1):
            sh[:, j + 1, c] = t[f"f_rest_{c * (k - 1) + j}"]
    means = np.stack([t["x"], t["y"], t["z"]], axis=1)
    quats_xyzw = np.stack([t["rot_1"], t["rot_2"], t["rot_3"], t["rot_0"]], axis=1)
    log_scales = np.stack([t["scale_0"], t["scale_1"], t["scale_2"]], axis=1)
    opacity = t["opacity"]
    for name, arr in (("x/y/z", means), ("rot_0..3", quats_xyzw), ("scale_0..2", log_scales),
                      ("opacity", opacity), ("f_dc/f_rest", sh)):
        bad = ~np.isfinite(arr.reshape(n, -1)).all(axis=1)
        if bad.any():
            raise InputError(f"{path}: property {name} is NaN or infinite in {int(bad.sum())} of {n} Gaussians")
    zero_q = np.linalg.norm(quats_xyzw, axis=1) == 0
    if zero_q.any():
        raise InputError(f"{path}: rot_0..3 is the zero quaternion in {int(zero_q.sum())} of {n} Gaussians")

    def tt(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)

    return GaussianSet(tt(means), tt(quats_xyzw), tt(log_scales), tt(opacity), tt(sh))


def write_gaussians_ply(path: str | os.PathLike, gaussians: GaussianSet) -> Path:
    """Write a 3DGS ``.ply`` (binary little-endian float32, reference layout) atomically.

    RGB colours are stored as degree-0 SH; the frame is the set's own (world) frame.
    """
    from inhabit.io import atomic_path

    gs = gaussians if gaussians.is_sh else gaussians.with_sh_degree(0)
    n = len(gs)
    sh = gs.colors.detach().cpu().double().numpy()
    k = sh.shape[1]
    cols: list[tuple[str, np.ndarray]] = []
    m = gs.means.detach().cpu().double().numpy()
    q = gs.quats.detach().cpu().double().numpy()
    s = gs.log_scales.detach().cpu().double().numpy()
    o = gs.opacity_logits.detach().cpu().double().numpy()
    cols += [("x", m[:, 0]), ("y", m[:, 1]), ("z", m[:, 2])]
    cols += [(f"n{a}", np.zeros(n)) for a in "xyz"]
    cols += [(f"f_dc_{c}", sh[:, 0, c]) for c in range(3)]
    cols += [(f"f_rest_{c * (k - 1) + j}", sh[:, j + 1, c]) for c in range(3) for j in range(k - 1)]
    cols += [("opacity", o)]
    cols += [(f"scale_{i}", s[:, i]) for i in range(3)]
    cols += [("rot_0", q[:, 3]), ("rot_1", q[:, 0]), ("rot_2", q[:, 1]), ("rot_3", q[:, 2])]
    table = np.empty(n, dtype=[(name, "<f4") for name, _ in cols])
    for name, arr in cols:
        table[name] = arr
    header = ["ply", "format binary_little_endian 1.0", "comment written by inhabit",
              f"element vertex {n}"]
    header += [f"property float {name}" for name, _ in cols]
    header += ["end_header"]
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(("\n".join(header) + "\n").encode("ascii"))
            f.write(table.tobytes())
    return path
