"""Animated glTF (``motion.glb``): the scene, the body as per-frame morph targets, the object and the
video camera as animated nodes. Opens in Blender, three.js, model-viewer and any glTF 2.0 viewer.

Layout of the file
    * the static scene: a mesh scene through :func:`inhabit.export.glb.scene_glb_bytes` (textures,
      UVs and colours kept), or the centres of a Gaussian scene as a coloured point cloud
      (``POINTS`` primitive; Blender imports it as loose vertices);
    * the body: one mesh whose base ``POSITION`` is frame 0 and whose morph target ``t`` holds
      ``V_t − V_0``; the animation drives the node's ``weights`` with one-hot keys (weight 1 on
      target ``t`` at time ``t / fps``), so at every key the shape *is* frame ``t`` exactly and
      between keys it blends linearly. Morph targets of the posed vertices need no skeleton and
      work for every body backend. No normals are stored for the body, so viewers compute them
      from the morphed positions (glTF: flat normals; Blender: smooth after "Shade Smooth");
    * an object: a mesh (or point cloud) in its own frame under a node whose ``translation`` and
      ``rotation`` are animated (``LINEAR``: slerp between keys);
    * the video camera: a perspective camera node (``yfov``, aspect ratio from ``K`` and the image
      size; the principal-point offset is not representable in glTF and is dropped), animated like
      the object.

Axes
    inhabit's world is +Z up; glTF is +Y up. Every position and pose is converted with
    ``R_GLTF_WORLD`` of :mod:`inhabit.export.glb` (−90° about X: ``(x, y, z) → (x, z, −y)``), baked
    into the data, exactly like ``scene_with_human.glb``: Blender's importer converts back, so the
    motion plays upright at the same coordinates as in inhabit. A glTF camera looks down its −Z
    axis with +Y up (OpenGL); the OpenCV camera of a run is converted with ``diag(1, −1, −1)``.

Size
    The body costs ``12 · V`` bytes per frame (anny: 0.16 MB), so a 51-frame clip is about 9 MB.

Time
    Key ``t`` is at ``t / fps`` seconds. Blender maps seconds to its scene frame rate on import;
    set the scene's rate to ``fps`` (stored in the file's ``asset.extras``) to get one key per frame.

:func:`read_glb` and :func:`accessor_array` read such a file back (tests, the viewer); they follow
the glTF 2.0 binary layout and need no third-party package.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.errors import InputError
from inhabit.export.glb import R_GLTF_WORLD
from inhabit.io import write_bytes

MOTION_GLB_FORMAT = "inhabit.motion-glb/1"

_GLB_MAGIC = 0x46546C67
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_FLOAT, _UINT, _UBYTE, _USHORT = 5126, 5125, 5121, 5123
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_NUM_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
R_GL_CV = np.diag([1.0, -1.0, -1.0])
"""OpenCV camera axes (x right, y down, z forward) -> OpenGL/glTF camera axes (x right, y up, z back)."""


@dataclass
class AnimatedBody:
    """A body sequence to export.

    Attributes:
        vertices: (T, V, 3) world positions per frame (metres, +Z up).
        faces: (F, 3) vertex indices.
        colors: None (light grey), or per-vertex (V, 3|4) uint8 or floats in [0, 1].
        name: node name.
    """

    vertices: Any
    faces: Any
    colors: Any = None
    name: str = "human"


@dataclass
class AnimatedObject:
    """A rigid object.

    Attributes:
        vertices: (N, 3) in the object's own frame.
        faces: (M, 3) or None (then the object is exported as a point cloud of its vertices).
        poses: (T, 4, 4) ``T_world_object`` per frame (one pose = a static object).
        colors: None, one RGB(A) (3|4,), or per-vertex (N, 3|4).
        name: node name.
    """

    vertices: Any
    faces: Any
    poses: Any
    colors: Any = None
    name: str = "object"


@dataclass
class AnimatedCamera:
    """The video camera.

    Attributes:
        T_world_cam: (T, 4, 4) OpenCV camera poses.
        K: (3, 3) intrinsics; width, height: image size (pixels).
        name: node name.
        znear, zfar: clipping planes written into the file.
    """

    T_world_cam: Any
    K: Any
    width: int
    height: int
    name: str = "video_camera"
    znear: float = 0.01
    zfar: float = 1000.0


@dataclass
class GltfData:
    """A parsed binary glTF: the JSON document and the binary chunk."""

    doc: dict
    bin: bytes = b""
    meta: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# pure conversions


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def pose_to_gltf(T_world: np.ndarray, R_local: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, 4, 4) world poses -> glTF node ``translation`` (T, 3) and ``rotation`` (T, 4) XYZW.

    The node maps its local coordinates to glTF's frame: ``R_GLTF_WORLD · T_world`` (· ``R_local``
    for a change of local axes, e.g. :data:`R_GL_CV` for cameras). Consecutive quaternions are kept
    in one hemisphere so that glTF's slerp takes the short way between keys.
    """
    from scipy.spatial.transform import Rotation

    T = np.asarray(T_world, np.float64).reshape(-1, 4, 4)
    R = np.einsum("ij,tjk->tik", R_GLTF_WORLD, T[:, :3, :3])
    if R_local is not None:
        R = R @ np.asarray(R_local, np.float64)
    t = T[:, :3, 3] @ R_GLTF_WORLD.T
    q = Rotation.from_matrix(R).as_quat()  # scipy: (x, y, z, w), glTF's order
    for i in range(1, len(q)):
        if float(np.dot(q[i], q[i - 1])) < 0.0:
            q[i] = -q[i]
    return t, q


def gltf_node_matrix(translation: np.ndarray, rotation_xyzw: np.ndarray) -> np.ndarray:
    """(4, 4) local-to-glTF matrix of a node's ``translation`` (3,) and ``rotation`` (4,) XYZW."""
    from scipy.spatial.transform import Rotation

    M = np.eye(4)
    M[:3, :3] = Rotation.from_quat(np.asarray(rotation_xyzw, np.float64)).as_matrix()
    M[:3, 3] = translation
    return M


def one_hot_weights(num_frames: int) -> np.ndarray:
    """(T, T) float32 morph weights of the keys: row t is 1 at target t (the identity)."""
    return np.eye(int(num_frames), dtype=np.float32)


def _rgba_u8(colors: Any, n: int, where: str) -> np.ndarray | None:
    """Per-vertex (n, 4) uint8 colours from None (-> None), one colour, or per-vertex colours."""
    if colors is None:
        return None
    c = _np(colors)
    scale = 1.0 if c.dtype == np.uint8 else 255.0
    c = np.clip(np.round(c.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if c.ndim == 1 and c.shape[0] in (3, 4):
        c = np.broadcast_to(c, (n, c.shape[0]))
    if c.ndim != 2 or c.shape[0] != n or c.shape[1] not in (3, 4):
        raise InputError(f"{where}: colours must be (3,), (4,) or (N, 3|4) with N = {n}, got shape {c.shape}")
    if c.shape[1] == 3:
        c = np.concatenate([c, np.full((n, 1), 255, np.uint8)], axis=1)
    return np.ascontiguousarray(c)


# ----------------------------------------------------------------------------------------------
# writing


class _Builder:
    """Appends buffer views, accessors, meshes, nodes and animations to a glTF document whose single
    buffer is the GLB's binary chunk."""

    def __init__(self, doc: dict | None = None, binary: bytes = b"") -> None:
        self.doc = doc if doc is not None else {"asset": {"version": "2.0"}}
        if len(self.doc.get("buffers", [])) > 1:
            raise InputError("cannot extend a glTF with several buffers; expected one GLB binary chunk")
        self.bin = bytearray(binary)
        self.doc.setdefault("scenes", [{"nodes": []}])
        self.doc.setdefault("scene", 0)
        self.doc["scenes"][self.doc["scene"]].setdefault("nodes", [])

    def _list(self, key: str) -> list:
        return self.doc.setdefault(key, [])

    def view(self, data: bytes, target: int | None = None) -> int:
        self.bin.extend(b"\x00" * (-len(self.bin) % 4))  # accessors need 4-byte alignment
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.bin.extend(data)
        self._list("bufferViews").append(view)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, kind: str, ctype: int = _FLOAT, target: int | None = None,
                 normalized: bool = False, minmax: bool = False) -> int:
        a = np.ascontiguousarray(array, dtype=_DTYPES[ctype])
        count = a.shape[0] if kind != "SCALAR" or a.ndim else 1
        acc: dict[str, Any] = {"bufferView": self.view(a.tobytes(), target), "componentType": ctype,
                               "count": int(count), "type": kind}
        if normalized:
            acc["normalized"] = True
        if minmax:
            flat = a.reshape(int(count), _NUM_COMPONENTS[kind]).astype(np.float64)
            acc["min"] = flat.min(axis=0).tolist()
            acc["max"] = flat.max(axis=0).tolist()
        self._list("accessors").append(acc)
        return len(self.doc["accessors"]) - 1

    def material(self, name: str, base: Sequence[float] = (1.0, 1.0, 1.0, 1.0), double_sided: bool = False) -> int:
        self._list("materials").append({"name": name, "doubleSided": bool(double_sided),
                                        "pbrMetallicRoughness": {"baseColorFactor": [float(x) for x in base],
                                                                 "metallicFactor": 0.0, "roughnessFactor": 0.8}})
        return len(self.doc["materials"]) - 1

    def mesh(self, mesh: dict) -> int:
        self._list("meshes").append(mesh)
        return len(self.doc["meshes"]) - 1

    def node(self, node: dict) -> int:
        self._list("nodes").append(node)
        i = len(self.doc["nodes"]) - 1
        self.doc["scenes"][self.doc["scene"]]["nodes"].append(i)
        return i

    def to_glb(self) -> bytes:
        self.bin.extend(b"\x00" * (-len(self.bin) % 4))
        if self.bin:
            self.doc["buffers"] = [{"byteLength": len(self.bin)}]
        js = json.dumps(self.doc, separators=(",", ":")).encode()
        js += b" " * (-len(js) % 4)
        total = 12 + 8 + len(js) + (8 + len(self.bin) if self.bin else 0)
        out = bytearray(struct.pack("<III", _GLB_MAGIC, 2, total))
        out += struct.pack("<II", len(js), _CHUNK_JSON) + js
        if self.bin:
            out += struct.pack("<II", len(self.bin), _CHUNK_BIN) + bytes(self.bin)
        return bytes(out)


def _check_finite(a: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what} contains NaN or inf; refusing to export it")


def _primitive(b: _Builder, positions: np.ndarray, faces: np.ndarray | None, colors: np.ndarray | None,
               material: int) -> dict:
    prim: dict[str, Any] = {"attributes": {"POSITION": b.accessor(positions, "VEC3", target=_ARRAY_BUFFER,
                                                                  minmax=True)}, "material": material}
    if colors is not None:
        prim["attributes"]["COLOR_0"] = b.accessor(colors, "VEC4", _UBYTE, _ARRAY_BUFFER, normalized=True)
    if faces is None:
        prim["mode"] = 0  # POINTS
    else:
        prim["indices"] = b.accessor(faces.reshape(-1), "SCALAR", _UINT, _ELEMENT_ARRAY_BUFFER)
        prim["mode"] = 4
    return prim


def _animate(b: _Builder, animation: dict, times: int, node: int, path: str, values: np.ndarray, kind: str) -> None:
    sampler = {"input": times, "output": b.accessor(values, kind), "interpolation": "LINEAR"}
    animation["samplers"].append(sampler)
    animation["channels"].append({"sampler": len(animation["samplers"]) - 1, "target": {"node": node, "path": path}})


def _add_body(b: _Builder, body: AnimatedBody, animation: dict, times: int | None) -> int:
    V = _np(body.vertices).astype(np.float64)
    if V.ndim != 3 or V.shape[-1] != 3 or V.shape[0] < 1:
        raise InputError(f"body {body.name!r}: vertices must be (T, V, 3), got shape {V.shape}")
    _check_finite(V, f"body {body.name!r} vertices")
    F = _np(body.faces).astype(np.int64).reshape(-1, 3)
    if len(F) and (F.min() < 0 or F.max() >= V.shape[1]):
        raise InputError(f"body {body.name!r}: faces index vertices 0..{V.shape[1] - 1} but contain "
                         f"{F.min()}..{F.max()}")
    n_frames = V.shape[0]
    P = V @ R_GLTF_WORLD.T  # (T, V, 3) in glTF's frame
    base = P[0].astype(np.float32)
    colors = _rgba_u8(body.colors, V.shape[1], f"body {body.name!r}")
    mat = b.material(f"{body.name}_material", (1.0, 1.0, 1.0, 1.0) if colors is not None else (0.78, 0.78, 0.78, 1.0))
    prim = _primitive(b, base, F, colors, mat)
    mesh: dict[str, Any] = {"name": body.name, "primitives": [prim]}
    if n_frames > 1:
        prim["targets"] = [{"POSITION": b.accessor((P[t] - P[0]).astype(np.float32), "VEC3", target=_ARRAY_BUFFER,
                                                   minmax=True)} for t in range(n_frames)]
        mesh["weights"] = [0.0] * n_frames
        mesh["extras"] = {"targetNames": [f"frame{t:04d}" for t in range(n_frames)]}
    node = b.node({"name": body.name, "mesh": b.mesh(mesh)})
    if n_frames > 1 and times is not None:
        _animate(b, animation, times, node, "weights", one_hot_weights(n_frames).reshape(-1), "SCALAR")
    return node


def _add_object(b: _Builder, obj: AnimatedObject, animation: dict, times: int | None, num_frames: int) -> int:
    Vo = _np(obj.vertices).astype(np.float64).reshape(-1, 3)
    _check_finite(Vo, f"object {obj.name!r} vertices")
    F = None if obj.faces is None else _np(obj.faces).astype(np.int64).reshape(-1, 3)
    if F is not None and len(F) and (F.min() < 0 or F.max() >= len(Vo)):
        raise InputError(f"object {obj.name!r}: faces index vertices 0..{len(Vo) - 1} but contain {F.min()}..{F.max()}")
    poses = _np(obj.poses).astype(np.float64).reshape(-1, 4, 4)
    _check_finite(poses, f"object {obj.name!r} poses")
    if len(poses) not in (1, num_frames):
        raise InputError(f"object {obj.name!r} has {len(poses)} poses for {num_frames} frames; expected one per frame")
    colors = _rgba_u8(obj.colors, len(Vo), f"object {obj.name!r}")
    mat = b.material(f"{obj.name}_material", (1.0, 1.0, 1.0, 1.0) if colors is not None else (0.8, 0.55, 0.3, 1.0),
                     double_sided=True)
    # the mesh stays in the object's frame; the node's transform carries the pose (exact, no baking)
    mesh = b.mesh({"name": obj.name, "primitives": [_primitive(b, Vo.astype(np.float32), F, colors, mat)]})
    t, q = pose_to_gltf(poses)
    node = b.node({"name": obj.name, "mesh": mesh, "translation": t[0].tolist(), "rotation": q[0].tolist()})
    if len(poses) > 1 and times is not None:
        _animate(b, animation, times, node, "translation", t.astype(np.float32), "VEC3")
        _animate(b, animation, times, node, "rotation", q.astype(np.float32), "VEC4")
    return node


def _add_camera(b: _Builder, cam: AnimatedCamera, animation: dict, times: int | None, num_frames: int) -> int:
    T = _np(cam.T_world_cam).astype(np.float64).reshape(-1, 4, 4)
    _check_finite(T, f"camera {cam.name!r} poses")
    if len(T) not in (1, num_frames):
        raise InputError(f"camera {cam.name!r} has {len(T)} poses for {num_frames} frames; expected one per frame")
    K = _np(cam.K).astype(np.float64).reshape(3, 3)
    yfov = 2.0 * np.arctan(0.5 * cam.height / K[1, 1])
    aspect = (cam.width / K[0, 0]) / (cam.height / K[1, 1])  # tan(xfov/2) / tan(yfov/2)
    b._list("cameras").append({"name": cam.name, "type": "perspective",
                               "perspective": {"yfov": float(yfov), "aspectRatio": float(aspect),
                                               "znear": float(cam.znear), "zfar": float(cam.zfar)}})
    t, q = pose_to_gltf(T, R_GL_CV)
    node = b.node({"name": cam.name, "camera": len(b.doc["cameras"]) - 1, "translation": t[0].tolist(),
                   "rotation": q[0].tolist()})
    if len(T) > 1 and times is not None:
        _animate(b, animation, times, node, "translation", t.astype(np.float32), "VEC3")
        _animate(b, animation, times, node, "rotation", q.astype(np.float32), "VEC4")
    return node


def _add_points(b: _Builder, points: np.ndarray, colors: Any, name: str, max_points: int, seed: int = 0) -> int:
    P = np.asarray(points, np.float64).reshape(-1, 3)
    _check_finite(P, f"{name} points")
    keep = np.arange(len(P))
    if len(P) > max_points:  # a deterministic subset keeps files of big captures manageable
        keep = np.sort(np.random.default_rng(seed).choice(len(P), max_points, replace=False))
    C = _rgba_u8(None if colors is None else _np(colors)[keep], len(keep), name)
    mat = b.material(f"{name}_material")
    mesh = b.mesh({"name": name, "primitives": [_primitive(b, (P[keep] @ R_GLTF_WORLD.T).astype(np.float32), None, C,
                                                           mat)]})
    return b.node({"name": name, "mesh": mesh})


def motion_glb_bytes(fps: float, scene=None, body: AnimatedBody | None = None, objects: Sequence[AnimatedObject] = (),
                     cameras: Sequence[AnimatedCamera] = (), scene_points: np.ndarray | None = None,
                     scene_point_colors: np.ndarray | None = None, max_scene_points: int = 200_000,
                     extras: dict | None = None) -> bytes:
    """A binary glTF of a motion (see the module docstring).

    Args:
        fps: frames per second (key t at t / fps seconds).
        scene: a :class:`~inhabit.scene.mesh.SceneMesh` (exported as meshes) or None.
        body: the animated body (its frame count T sets the animation's length) or None.
        objects: rigid objects with per-frame poses. cameras: the video camera(s).
        scene_points, scene_point_colors: (N, 3) world points and (N, 3) colours of a Gaussian scene,
            exported as a point cloud (at most ``max_scene_points``, a seeded subset) when ``scene``
            is None.
        extras: JSON-able annotations stored in ``asset.extras["inhabit"]``.

    Raises:
        InputError: non-finite data, bad faces, a frame count that differs between parts, fps ≤ 0.
    """
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"motion glTF: fps is {fps!r}; expected a positive number of frames per second")
    if scene is not None:
        from inhabit.export.glb import scene_glb_bytes

        parsed = read_glb(scene_glb_bytes(scene, (), up="gltf"))
        b = _Builder(parsed.doc, parsed.bin)
    else:
        b = _Builder()
        if scene_points is not None and len(scene_points):
            _add_points(b, scene_points, scene_point_colors, "scene_points", max_scene_points)
    counts = []
    if body is not None:
        counts.append(_np(body.vertices).shape[0])
    counts += [len(_np(o.poses).reshape(-1, 4, 4)) for o in objects]
    counts += [len(_np(c.T_world_cam).reshape(-1, 4, 4)) for c in cameras]
    n_frames = max(counts, default=1)
    if body is not None and _np(body.vertices).shape[0] != n_frames:
        raise InputError(f"motion glTF: the body has {_np(body.vertices).shape[0]} frames but another part has {n_frames}")
    animation: dict[str, Any] = {"name": "motion", "samplers": [], "channels": []}
    times = None
    if n_frames > 1:
        times = b.accessor(np.arange(n_frames, dtype=np.float32) / np.float32(fps), "SCALAR", minmax=True)
    if body is not None:
        _add_body(b, body, animation, times)
    for o in objects:
        _add_object(b, o, animation, times, n_frames)
    for c in cameras:
        _add_camera(b, c, animation, times, n_frames)
    if animation["channels"]:
        b._list("animations").append(animation)
    if not b.doc.get("nodes"):
        raise InputError("motion glTF: nothing to export (no scene, body, object or camera)")
    asset = b.doc.setdefault("asset", {"version": "2.0"})
    asset["generator"] = "inhabit"
    asset.setdefault("extras", {})["inhabit"] = {
        "format": MOTION_GLB_FORMAT, "fps": float(fps), "num_frames": int(n_frames), "up": "+Y (glTF)",
        "R_gltf_world": R_GLTF_WORLD.tolist(), **(extras or {})}
    return b.to_glb()


def write_motion_glb(path: str | Path, fps: float, **parts: Any) -> Path:
    """:func:`motion_glb_bytes` written atomically to ``path`` (``.glb``)."""
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise InputError(f"a binary glTF file name must end in .glb, got {path.name!r}")
    return write_bytes(path, motion_glb_bytes(fps, **parts))


# ----------------------------------------------------------------------------------------------
# reading


def read_glb(source: str | Path | bytes) -> GltfData:
    """Parse a binary glTF (a path or its bytes).

    Raises:
        InputError: not a GLB file, a truncated file, or a chunk layout that is not JSON then BIN.
    """
    name = "the data" if isinstance(source, bytes | bytearray) else str(source)
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        p = Path(source)
        if not p.is_file():
            raise InputError(f"glTF file {p} does not exist")
        data = p.read_bytes()
    if len(data) < 20:
        raise InputError(f"{name} is not a binary glTF file (too short)")
    magic, version, total = struct.unpack_from("<III", data, 0)
    if magic != _GLB_MAGIC or version != 2:
        raise InputError(f"{name} is not a binary glTF 2.0 file (magic {magic:#x}, version {version})")
    if total > len(data):
        raise InputError(f"{name} is truncated: the header says {total} bytes, the file has {len(data)}")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != _CHUNK_JSON:
        raise InputError(f"{name}: the first GLB chunk is not JSON")
    doc = json.loads(data[20:20 + length].decode())
    binary = b""
    pos = 20 + length
    if pos + 8 <= total:
        blen, bkind = struct.unpack_from("<II", data, pos)
        if bkind != _CHUNK_BIN:
            raise InputError(f"{name}: the second GLB chunk is not BIN")
        binary = data[pos + 8:pos + 8 + blen]
    return GltfData(doc, binary, dict(doc.get("asset", {}).get("extras", {}).get("inhabit", {})))


def accessor_array(gltf: GltfData, index: int) -> np.ndarray:
    """The data of accessor ``index`` as an array: (count,) for SCALAR, (count, n) otherwise;
    normalized integer accessors are returned as floats in [0, 1]."""
    acc = gltf.doc["accessors"][index]
    view = gltf.doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_DTYPES[acc["componentType"]])
    n = _NUM_COMPONENTS[acc["type"]]
    count = int(acc["count"])
    start = int(view.get("byteOffset", 0)) + int(acc.get("byteOffset", 0))
    stride = int(view.get("byteStride", 0)) or dtype.itemsize * n
    raw = np.frombuffer(gltf.bin, dtype=np.uint8, count=stride * (count - 1) + dtype.itemsize * n, offset=start)
    rows = np.lib.stride_tricks.as_strided(raw, (count, dtype.itemsize * n), (stride, 1))
    out = np.ascontiguousarray(rows).view(dtype).reshape(count, n)
    if acc.get("normalized"):
        out = out.astype(np.float32) / float(np.iinfo(dtype).max)
    return out[:, 0] if n == 1 else out


def node_by_name(gltf: GltfData, name: str) -> int:
    """Index of the node called ``name`` (KeyError listing the names otherwise)."""
    names = [n.get("name") for n in gltf.doc.get("nodes", [])]
    if name not in names:
        raise KeyError(f"no node {name!r} in the glTF; nodes: {names}")
    return names.index(name)


def animation_channels(gltf: GltfData, node: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{path: (times (K,), values (K, ...))}`` of the animation channels that target ``node``;
    morph weights come back as (K, num_targets)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for anim in gltf.doc.get("animations", []):
        for ch in anim["channels"]:
            if ch["target"].get("node") != node:
                continue
            s = anim["samplers"][ch["sampler"]]
            times = accessor_array(gltf, s["input"])
            vals = accessor_array(gltf, s["output"])
            if ch["target"]["path"] == "weights":
                vals = vals.reshape(len(times), -1)
            out[ch["target"]["path"]] = (times, vals)
    return out


def body_frames(gltf: GltfData, node: int) -> np.ndarray:
    """(K, V, 3) positions (glTF frame) of a morph-animated mesh node at each animation key: base
    positions plus the weighted targets (how a viewer poses it)."""
    mesh = gltf.doc["meshes"][gltf.doc["nodes"][node]["mesh"]]
    prim = mesh["primitives"][0]
    base = accessor_array(gltf, prim["attributes"]["POSITION"]).astype(np.float64)
    targets = [accessor_array(gltf, t["POSITION"]).astype(np.float64) for t in prim.get("targets", [])]
    chans = animation_channels(gltf, node)
    if "weights" not in chans:
        return base[None]
    weights = chans["weights"][1]
    return np.stack([base + sum(w * d for w, d in zip(row, targets)) for row in weights])


__all__ = [
    "MOTION_GLB_FORMAT", "R_GL_CV", "AnimatedBody", "AnimatedCamera", "AnimatedObject", "GltfData", "accessor_array",
    "animation_channels", "body_frames", "gltf_node_matrix", "motion_glb_bytes", "node_by_name", "one_hot_weights",
    "pose_to_gltf", "read_glb", "write_motion_glb",
]
