"""Bundled demo scenes, built by code (no downloads, no third-party assets).

``make_demo_scene("room")`` is a furnished 6 m x 5 m x 2.7 m room, ``make_demo_scene("outdoor")``
a park corner. Both are +Z up, in metres, multi-part (one :class:`MeshPart` per material), with
procedural textures and vertex colours, named interaction points on the surfaces a person
touches, and a suggested facing direction per point. They deliberately contain what real assets
contain: single-sided open surfaces (floor, walls, ground), interpenetrating parts (legs through
seats, cushions sunk into bases, steps overlapping each other, a tree crown around its trunk) and
an open-topped planter, so the signed distance is exercised for real.

``detail`` refines the furniture (0: ~20k triangles, fast; 2: ~150k, for the SDF benchmark);
the named points do not move with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inhabit.errors import InputError
from inhabit.scene import _shapes as S
from inhabit.scene import _textures as T
from inhabit.scene.mesh import MeshPart, SceneMesh

DEMO_SCENES: dict[str, str] = {
    "room": "a furnished 6 x 5 x 2.7 m room: chair and table, bench, sofa, bed, kitchen counter, "
            "four-step stairs; door and window openings; single-sided floor and walls",
    "outdoor": "a park corner: grass ground, slatted park bench, low brick wall, steps up to a terrace, "
               "picnic table, lamp post, tree, open planter",
}
"""Names of the bundled demo scenes and what they contain."""

_UP = np.array([0.0, 0.0, 1.0])


@dataclass
class _Part:
    shapes: list[S.Shape] = field(default_factory=list)
    texture: np.ndarray | None = None
    color: tuple[int, int, int] | None = None


class _Builder:
    """Collects shapes per material part, then makes a :class:`SceneMesh`."""

    def __init__(self, name: str, detail: int) -> None:
        if not isinstance(detail, int | np.integer) or detail < 0 or detail > 4:
            raise InputError(f"demo scene detail must be an integer from 0 to 4, got {detail!r}")
        self.name = name
        self.target = 0.25 / 2**detail
        self.arc = 2 + 2 * detail
        self.sections = 24 * 2**detail
        self.parts: dict[str, _Part] = {}
        self.points: dict[str, np.ndarray] = {}
        self.facing: dict[str, np.ndarray] = {}
        self.body_up: dict[str, np.ndarray] = {}
        self.seed = 0

    def material(self, part: str, texture: np.ndarray | None = None, color=None) -> None:
        self.parts[part] = _Part(texture=texture, color=color)

    def add(self, part: str, shape: S.Shape) -> None:
        self.parts[part].shapes.append(shape)

    def box(self, part: str, lo, hi, radius: float = 0.0, uv_scale: float = 1.0, yaw: float = 0.0) -> None:
        """An axis-aligned (then yawed about its centre) box from corner ``lo`` to corner ``hi``."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        shape = S.box(hi - lo, radius=radius, arc=self.arc if radius > 0 else 0, target=self.target,
                      uv_scale=uv_scale)
        self.add(part, shape.transformed(yaw, (lo + hi) / 2))

    def cylinder(self, part: str, base, radius: float, height: float, uv_scale: float = 1.0) -> None:
        self.add(part, S.cylinder(radius, height, sections=self.sections, target=self.target,
                                  uv_scale=uv_scale).transformed(0.0, base))

    def point(self, name: str, xyz, facing, body_up=_UP) -> None:
        f = np.asarray(facing, float)
        u = np.asarray(body_up, float)
        self.points[name] = np.asarray(xyz, float)
        self.facing[name] = f / np.linalg.norm(f)
        self.body_up[name] = u / np.linalg.norm(u)

    def build(self) -> SceneMesh:
        rng = np.random.default_rng(12345)
        parts = []
        for name, p in self.parts.items():
            shape = S.merge(p.shapes)
            kw = {}
            if p.texture is not None:
                kw.update(uv=shape.uv, texture=p.texture, base_color=np.ones(4))
            else:
                # A little per-vertex variation so flat colours still carry some texture.
                jitter = rng.integers(-10, 11, size=(len(shape.vertices), 1))
                rgb = np.clip(np.asarray(p.color)[None, :] + jitter, 0, 255).astype(np.uint8)
                kw.update(vertex_colors=np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], 1),
                          base_color=np.ones(4))
            parts.append(MeshPart(shape.vertices, shape.faces, name=name, **kw))
        return SceneMesh(parts=parts, name=self.name, points=self.points, point_facing=self.facing,
                         point_body_up=self.body_up)


def _room(b: _Builder) -> None:
    # Shell: single-sided floor and walls facing into the room (open surfaces).
    b.material("floor", texture=T.checker(128, seed=1))
    b.add("floor", S.plane(6.0, 5.0, target=0.1, uv_scale=0.6))
    b.material("walls", texture=T.plaster(128, seed=2))
    t = max(b.target, 0.125)
    b.add("walls", S.wall(6.0, 2.7, target=t).transformed(0.0, (-3.0, -2.5, 0.0)))  # front, faces +y
    b.add("walls", S.wall(6.0, 2.7, openings=[(3.4, 4.6, 0.9, 2.0)], target=t)  # back (window), faces -y
          .transformed(np.pi, (3.0, 2.5, 0.0)))
    b.add("walls", S.wall(5.0, 2.7, target=t).transformed(-np.pi / 2, (-3.0, 2.5, 0.0)))  # left, faces +x
    b.add("walls", S.wall(5.0, 2.7, openings=[(1.3, 2.15, 0.0, 2.1)], target=t)  # right (door), faces -x
          .transformed(np.pi / 2, (3.0, -2.5, 0.0)))

    b.material("rug", texture=T.fabric(128, color=(150, 60, 55), seed=3))
    b.box("rug", (-0.9, -0.5, -0.004), (0.9, 1.5, 0.008), uv_scale=0.5)  # sunk into the floor

    # Table (top at 0.75 m) and chair (seat at 0.45 m) facing it.
    b.material("table_wood", texture=T.wood(128, seed=4))
    b.box("table_wood", (-0.6, 0.3, 0.71), (0.6, 1.1, 0.75), radius=0.01, uv_scale=0.8)
    for x in (-0.54, 0.54):
        for y in (0.36, 1.04):
            b.box("table_wood", (x - 0.025, y - 0.025, 0.0), (x + 0.025, y + 0.025, 0.74))  # into the top
    b.material("chair_wood", texture=T.wood(128, light=(150, 100, 60), dark=(96, 60, 34), seed=5))
    b.box("chair_wood", (-0.225, -0.275, 0.41), (0.225, 0.175, 0.45), radius=0.008, uv_scale=0.6)
    for x in (-0.195, 0.195):
        b.box("chair_wood", (x - 0.02, 0.125, 0.0), (x + 0.02, 0.165, 0.44))  # front legs
        b.box("chair_wood", (x - 0.02, -0.265, 0.0), (x + 0.02, -0.225, 0.95))  # rear legs + back posts
    b.box("chair_wood", (-0.215, -0.27, 0.58), (0.215, -0.235, 0.9), radius=0.008, uv_scale=0.6)  # back rest
    b.point("sit_chair", (0.0, -0.05, 0.45), facing=(0, 1, 0))
    b.point("stand_table", (1.0, 0.7, 0.0), facing=(-1, 0, 0))

    # Bench (seat at 0.45 m), free-standing.
    b.material("bench_wood", texture=T.wood(128, light=(190, 150, 100), dark=(140, 100, 60), seed=6))
    b.box("bench_wood", (-1.2, -1.74, 0.40), (0.0, -1.36, 0.45), radius=0.012, uv_scale=0.8)
    for x in (-1.1, -0.1):
        b.box("bench_wood", (x - 0.025, -1.71, 0.0), (x + 0.025, -1.39, 0.41))
    b.point("sit_bench", (-0.6, -1.55, 0.45), facing=(0, 1, 0))

    # Sofa against the left wall, facing +x: base, back, arms, 3 seat and 3 back cushions.
    b.material("sofa", texture=T.fabric(128, color=(70, 92, 130), seed=7))
    b.box("sofa", (-2.95, 0.3, 0.05), (-2.05, 2.3, 0.30), radius=0.02, uv_scale=0.5)
    b.box("sofa", (-2.95, 0.3, 0.05), (-2.72, 2.3, 0.85), radius=0.05, uv_scale=0.5)
    for y0, y1 in ((0.3, 0.48), (2.12, 2.3)):
        b.box("sofa", (-2.95, y0, 0.05), (-2.05, y1, 0.62), radius=0.05, uv_scale=0.5)
    b.material("sofa_cushions", texture=T.fabric(128, color=(96, 120, 160), seed=8))
    w = (2.12 - 0.48) / 3
    for k in range(3):
        y0 = 0.48 + k * w
        b.box("sofa_cushions", (-2.72, y0 + 0.005, 0.28), (-2.08, y0 + w - 0.005, 0.42), radius=0.04, uv_scale=0.5)
        b.box("sofa_cushions", (-2.74, y0 + 0.01, 0.40), (-2.56, y0 + w - 0.01, 0.80), radius=0.06, uv_scale=0.5)
    b.material("sofa_legs", color=(40, 30, 24))
    for x in (-2.9, -2.1):
        for y in (0.35, 2.25):
            b.cylinder("sofa_legs", (x, y, 0.0), 0.025, 0.07)
    b.point("sit_sofa", (-2.40, 1.30, 0.42), facing=(1, 0, 0))

    # Bed against the back wall: frame, mattress (top 0.55 m), headboard, pillow.
    b.material("bed_frame", texture=T.wood(128, light=(120, 80, 50), dark=(80, 50, 30), seed=9))
    b.box("bed_frame", (1.45, 0.45, 0.10), (2.85, 2.45, 0.32), radius=0.01, uv_scale=0.8)
    b.box("bed_frame", (1.42, 2.40, 0.0), (2.88, 2.47, 1.05), radius=0.02, uv_scale=0.8)
    for x in (1.5, 2.8):
        b.box("bed_frame", (x - 0.03, 0.5 - 0.03, 0.0), (x + 0.03, 0.5 + 0.03, 0.12))
    b.material("mattress", texture=T.fabric(128, color=(226, 226, 232), seed=10))
    b.box("mattress", (1.5, 0.5, 0.30), (2.8, 2.42, 0.55), radius=0.06, uv_scale=0.5)
    b.material("pillow", texture=T.fabric(128, color=(200, 180, 150), seed=11))
    b.box("pillow", (1.75, 1.98, 0.50), (2.55, 2.36, 0.66), radius=0.06, uv_scale=0.5)
    b.point("lie_bed", (2.15, 1.35, 0.55), facing=(0, 0, 1), body_up=(0, 1, 0))

    # Kitchen counter along the front wall: cabinet and a stone top at 0.9 m.
    b.material("cabinet", color=(222, 224, 218))
    b.box("cabinet", (0.9, -2.49, 0.0), (2.9, -1.92, 0.86), radius=0.005)
    b.material("countertop", texture=T.concrete(128, color=(120, 118, 116), seed=12))
    b.box("countertop", (0.88, -2.49, 0.85), (2.92, -1.86, 0.90), radius=0.005, uv_scale=0.7)
    b.point("lean_counter", (1.9, -1.92, 0.90), facing=(0, -1, 0))

    # Stairs: four steps (rise 0.17 m, tread 0.28 m) up towards the front wall; each block
    # reaches the wall (1 cm off it, no coplanar faces), so they overlap.
    b.material("stairs", texture=T.wood(128, light=(160, 130, 100), dark=(110, 85, 60), seed=13))
    for k in range(4):
        front = -2.5 + 0.28 * (4 - k)
        b.box("stairs", (-2.95, -2.49, 0.0), (-1.95, front, 0.17 * (k + 1)), radius=0.005, uv_scale=0.8)
    b.point("step_stairs", (-2.45, -1.80, 0.34), facing=(0, -1, 0))


def _outdoor(b: _Builder) -> None:
    b.material("ground", texture=T.grass(128, seed=21))
    b.add("ground", S.plane(12.0, 12.0, target=0.2, uv_scale=1.5))
    b.material("paving", texture=T.concrete(128, color=(170, 166, 158), seed=22))
    b.box("paving", (-1.5, -1.0, -0.01), (1.5, 1.0, 0.02), uv_scale=1.0)  # sunk into the ground

    # Park bench facing -y: three seat slats (top 0.45 m), two tilted back slats, iron frames.
    b.material("bench_slats", texture=T.wood(128, light=(170, 120, 70), dark=(110, 70, 40), seed=23))
    for k, y in enumerate((-0.16, 0.0, 0.16)):
        del k
        b.box("bench_slats", (-0.8, y - 0.065, 0.42), (0.8, y + 0.065, 0.45), radius=0.01, uv_scale=0.8)
    for z in (0.62, 0.78):
        slat = S.box((1.6, 0.03, 0.11), radius=0.01, arc=b.arc, target=b.target, uv_scale=0.8).tilted(0, -0.2)
        b.add("bench_slats", slat.transformed(0.0, (0.0, 0.27 + 0.2 * (z - 0.45), z)))
    b.material("bench_iron", color=(38, 40, 44))
    for x in (-0.65, 0.65):
        b.box("bench_iron", (x - 0.03, -0.22, 0.0), (x + 0.03, -0.17, 0.44))
        b.box("bench_iron", (x - 0.03, 0.17, 0.0), (x + 0.03, 0.22, 0.44))
        b.box("bench_iron", (x - 0.03, -0.22, 0.38), (x + 0.03, 0.22, 0.43))
        b.add("bench_iron", S.box((0.06, 0.04, 0.52), target=b.target).tilted(0, -0.2)
              .transformed(0.0, (x, 0.28, 0.66)))
    b.point("sit_bench", (0.0, 0.0, 0.45), facing=(0, -1, 0))

    # Low brick wall with a stone coping (top at 0.55 m).
    b.material("brick_wall", texture=T.bricks(256, seed=24))
    b.box("brick_wall", (-4.0, 2.5, 0.0), (1.0, 2.8, 0.5), uv_scale=1.0)
    b.material("coping", texture=T.concrete(128, color=(185, 180, 170), seed=25))
    b.box("coping", (-4.05, 2.47, 0.49), (1.05, 2.83, 0.55), radius=0.01, uv_scale=0.8)
    b.point("sit_wall", (-2.5, 2.65, 0.55), facing=(0, -1, 0))

    # Terrace (0.51 m) reached by three steps (rise 0.17, tread 0.30) ascending +y.
    b.material("steps", texture=T.concrete(128, seed=26))
    b.box("steps", (2.0, 1.9, 0.0), (5.0, 4.0, 0.51), radius=0.01, uv_scale=1.0)
    for k in range(3):
        b.box("steps", (2.5, 1.0 + 0.3 * k, 0.0), (4.0, 2.0, 0.17 * (k + 1)), radius=0.005, uv_scale=1.0)
    b.point("step_stairs", (3.25, 1.45, 0.34), facing=(0, 1, 0))

    # Picnic table (top 0.75 m) with two attached benches (0.45 m).
    b.material("picnic_wood", texture=T.wood(128, light=(186, 140, 92), dark=(130, 92, 58), seed=27))
    cx, cy = -2.5, -2.5
    b.box("picnic_wood", (cx - 0.9, cy - 0.375, 0.71), (cx + 0.9, cy + 0.375, 0.75), radius=0.01, uv_scale=0.8)
    for side in (-1, 1):
        yc = cy + side * 0.62
        b.box("picnic_wood", (cx - 0.9, yc - 0.13, 0.41), (cx + 0.9, yc + 0.13, 0.45), radius=0.01, uv_scale=0.8)
    for x in (cx - 0.7, cx + 0.7):
        b.box("picnic_wood", (x - 0.04, cy - 0.8, 0.33), (x + 0.04, cy + 0.8, 0.41))  # cross beam under seats
        for side in (-1, 1):
            leg = S.box((0.08, 0.08, 0.88), target=b.target).tilted(0, side * 0.45)  # A-frame, foot in the ground
            b.add("picnic_wood", leg.transformed(0.0, (x, cy + side * 0.2, 0.32)))
    b.point("sit_picnic", (cx, cy - 0.62, 0.45), facing=(0, 1, 0))
    b.point("lean_table", (cx + 0.85, cy, 0.75), facing=(-1, 0, 0))
    b.point("stand_table", (cx + 1.3, cy, 0.0), facing=(-1, 0, 0))

    # Lamp post and tree (crown around the trunk).
    b.material("lamp_metal", color=(50, 56, 60))
    b.cylinder("lamp_metal", (2.0, -2.0, 0.0), 0.12, 0.3)
    b.cylinder("lamp_metal", (2.0, -2.0, 0.0), 0.06, 3.4)
    b.material("lamp_glass", color=(250, 240, 200))
    b.add("lamp_glass", S.sphere(0.2, subdivisions=2 + min(2, b.arc // 4)).transformed(0.0, (2.0, -2.0, 3.45)))
    b.point("lean_post", (2.0 - 0.06, -2.0, 1.2), facing=(-1, 0, 0))
    b.material("bark", texture=T.wood(128, light=(110, 86, 64), dark=(70, 52, 38), rings=20.0, seed=28))
    b.cylinder("bark", (-4.5, 4.2, 0.0), 0.16, 2.6, uv_scale=0.6)
    b.material("leaves", texture=T.grass(128, seed=29))
    b.add("leaves", S.sphere(1.3, subdivisions=2 + min(2, b.arc // 4), uv_scale=1.0).transformed(0.0, (-4.5, 4.2, 3.3)))

    # Planter: an open-topped concrete box (a solid with a hole) filled with soil.
    b.material("planter", texture=T.concrete(128, color=(140, 136, 130), seed=30))
    box = S.box((1.0, 1.0, 0.45), target=b.target, uv_scale=1.0)
    keep = box.vertices[box.faces].mean(1)[:, 2] < 0.225 - 1e-6  # drop the top face
    b.add("planter", S.Shape(box.vertices, box.faces[keep], box.uv).transformed(0.0, (3.5, -3.5, 0.225)))
    b.material("soil", color=(70, 50, 36))
    b.box("soil", (3.05, -3.95, 0.0), (3.95, -3.05, 0.38))


_BUILDERS: dict[str, Callable[[_Builder], None]] = {"room": _room, "outdoor": _outdoor}


def make_demo_scene(name: str, detail: int = 0) -> SceneMesh:
    """Build a bundled demo scene (see :data:`DEMO_SCENES`).

    Args:
        name: ``"room"`` or ``"outdoor"``.
        detail: 0..4; each step halves the furniture's edge length, adds samples on rounded edges
            and doubles them on cylinders (0: ~20k triangles, for tests and demos; 2: ~150k).

    Returns:
        A :class:`SceneMesh` in the world frame (+Z up, metres) with ``points``,
        ``point_facing`` and ``point_body_up`` filled in.

    Raises:
        InputError: for an unknown name or detail level.
    """
    if name not in _BUILDERS:
        raise InputError(f"unknown demo scene {name!r}; available: {', '.join(sorted(_BUILDERS))}")
    b = _Builder(name, detail)
    _BUILDERS[name](b)
    return b.build()
