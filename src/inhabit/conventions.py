"""The conventions of inhabit, stated once. Every module imports them from here.

World frame
    Right-handed, **+Z up**, metres. Scenes with another up axis are rotated on load
    (``up_axis="y"`` or ``"-y"``) and the applied 4x4 transform is recorded.

Camera
    OpenCV pinhole: x right, y down, z forward (the camera looks along +z).
    ``K`` is 3x3 in pixels. Extrinsics are named by frame: ``T_cam_world`` maps world points
    into the camera frame, ``T_world_cam`` is its inverse (the camera's pose in the world).
    Image coordinates are pixels with the origin at the *corner* of the top-left pixel, so the
    centre of pixel (i, j) (row i, column j) is at (x, y) = (j + 0.5, i + 0.5).
    Renderers that need OpenGL convert inside the renderer (``T_gl_cv`` below) and nowhere else.

Rotations
    roma conventions: rotation vectors (axis-angle, radians), unit quaternions in roma's XYZW order
    inside the code, and the 6D representation of Zhou et al. stored as the first two *columns* of
    the rotation matrix flattened row-major, ``[r00, r01, r10, r11, r20, r21]`` (as GenZI stores it).

Bodies
    ``BodyOutput(vertices (B,V,3), joints (B,22,3), keypoints (B,23,3), faces (F,3))`` in the world
    frame. ``joints`` follow :data:`BODY_JOINT_NAMES` (the 22 SMPL-X body joints), ``keypoints``
    follow :data:`KEYPOINT_NAMES` (COCO-17 then the 6 COCO-WholeBody foot points). 2D detectors
    map onto these by *name*, never by index.

Keypoints 2D
    ``Keypoints2D(xy (N,K,2) pixels, conf (N,K) in [0,1], names)``; a person not found is
    conf = 0, not an exception.
"""

from __future__ import annotations

import numpy as np

UP = np.array([0.0, 0.0, 1.0])
"""The world up direction."""

UNITS = "m"

# OpenCV camera (x right, y down, z forward) -> OpenGL camera (x right, y up, z backward).
T_gl_cv = np.diag([1.0, -1.0, -1.0, 1.0])
"""4x4 change of camera basis from OpenCV to OpenGL: ``T_glcam_world = T_gl_cv @ T_cam_world``."""

# Scene up-axis options and the rotation that maps each to +Z up (applied to column vectors).
UP_AXIS_TO_Z: dict[str, np.ndarray] = {
    "z": np.eye(3),
    # glTF and most DCC exports: +Y up, -Z forward. Rotate +90 deg about X: y -> z, z -> -y.
    "y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
    # Camera-style scans (OpenCV world with -Y up): rotate -90 deg about X: -y -> z, z -> y.
    "-y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
    "-z": np.diag([1.0, -1.0, -1.0]),
}

# The 22 SMPL-X body joints, in SMPL-X order (index 0 = pelvis ... 21 = right_wrist).
BODY_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)

BODY_JOINT_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
"""Parent index of each body joint (SMPL-X kinematic tree restricted to the body)."""

COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

FOOT6_NAMES: tuple[str, ...] = (
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
"""The COCO-WholeBody / Halpe foot points, in COCO-WholeBody order."""

KEYPOINT_NAMES: tuple[str, ...] = COCO17_NAMES + FOOT6_NAMES
"""The 23 body keypoints every body model and every 2D detector in inhabit speaks."""

SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("left_ankle", "left_knee"),
    ("left_knee", "left_hip"),
    ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"),
    ("nose", "left_eye"),
    ("nose", "right_eye"),
    ("left_eye", "left_ear"),
    ("right_eye", "right_ear"),
    ("left_ear", "left_shoulder"),
    ("right_ear", "right_shoulder"),
    ("left_ankle", "left_big_toe"),
    ("left_ankle", "left_small_toe"),
    ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"),
    ("right_ankle", "right_small_toe"),
    ("right_ankle", "right_heel"),
)
"""Keypoint skeleton for drawing, by name (COCO-17 edges plus feet)."""


def keypoint_index(names: tuple[str, ...] | list[str], wanted: tuple[str, ...] | list[str]) -> list[int]:
    """Indices of ``wanted`` names inside ``names``; raises ``KeyError`` naming the missing one."""
    lookup = {n: i for i, n in enumerate(names)}
    out = []
    for w in wanted:
        if w not in lookup:
            raise KeyError(f"keypoint {w!r} is not in {tuple(names)}")
        out.append(lookup[w])
    return out


def flip_left_right_names(names: tuple[str, ...] | list[str]) -> list[str]:
    """Swap ``left_``/``right_`` prefixes: the name order of a horizontally mirrored person."""
    out = []
    for n in names:
        if n.startswith("left_"):
            out.append("right_" + n[5:])
        elif n.startswith("right_"):
            out.append("left_" + n[6:])
        else:
            out.append(n)
    return out

# Body placement. Every BodyModel backend follows these, so results are interchangeable.
BODY_FORWARD = np.array([0.0, -1.0, 0.0])
"""With identity global orientation a body stands upright along +Z and faces -Y ..."""
BODY_LEFT = np.array([1.0, 0.0, 0.0])
"""... with its own left side towards +X. ``transl`` is the world position of the pelvis joint and
the global orientation rotates the body about the pelvis."""
