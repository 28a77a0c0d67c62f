"""Which 3D body point is projected for each 2D keypoint — by name, grouped as GenZI groups them.

GenZI pairs 22 SMPL-X *joints* with AlphaPose Halpe keypoints (genzi_facts §5): a torso group
(pelvis↔mid-hip, hips, neck↔neck, shoulders) and a limb group (knees, ankles, feet↔big toes,
head↔nose, elbows, wrists). Two of those pairings are loose on purpose (a skull-base joint against
the nose, an ankle-to-toe joint against the big toe) and the SMPL-X hip/shoulder *joints* sit
inside the body where a detector's hip/shoulder *keypoints* do not.

Every inhabit body also gives the 23 detector keypoints themselves (a regressor over its vertices,
trained to match what detectors mark), so inhabit pairs **the body keypoint with the detected
keypoint of the same name**, which removes both the loose pairings and the joint/keypoint offset.
The two GenZI points that COCO lacks are virtual midpoints, on both sides alike:

* ``mid_hip`` = midpoint of ``left_hip`` and ``right_hip`` (GenZI's pelvis ↔ Halpe "hip"),
* ``neck`` = midpoint of ``left_shoulder`` and ``right_shoulder`` (GenZI's neck ↔ Halpe "neck").

The 3D virtual point is the 3D midpoint, projected; the 2D virtual point is the 2D midpoint with
the smaller of the two confidences. (A detector that reports ``neck`` / ``mid_hip`` itself, e.g.
Halpe-26, is used directly.) Any name of :data:`~inhabit.conventions.KEYPOINT_NAMES` or
:data:`~inhabit.conventions.BODY_JOINT_NAMES` may be added to a group through the config; a 3D
name is looked up among the body keypoints first, then among its joints.

Perspective caveat: the projection of a 3D midpoint is not exactly the midpoint of the projections;
at 2 m the difference is below 0.1 px for a 30 cm hip width, far under detector noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inhabit.conventions import BODY_JOINT_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError

TORSO_NAMES: tuple[str, ...] = ("mid_hip", "left_hip", "right_hip", "neck", "left_shoulder", "right_shoulder")
"""GenZI's torso group, in inhabit names (6 pairs)."""

GENZI_LIMB_NAMES: tuple[str, ...] = (
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_big_toe",
    "right_big_toe",
    "nose",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
"""GenZI's limb group, in inhabit names (11 pairs)."""

LIMB_NAMES: tuple[str, ...] = (
    *GENZI_LIMB_NAMES,
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_heel",
    "right_heel",
)
"""inhabit's limb group: GenZI's plus the eyes, ears and heels. GenZI could pair only points that
are SMPL-X joints, so its head was a single nose point and the feet had no heel: the head's
orientation and the feet's pitch were free, and the neck and spine bent to absorb it (on clean
synthetic views 74 mm head error with the nose alone, 11 mm with the face points). inhabit bodies
carry the detector's own face and foot points, so they are used."""

VIRTUAL_MIDPOINTS: dict[str, tuple[str, str]] = {
    "mid_hip": ("left_hip", "right_hip"),
    "neck": ("left_shoulder", "right_shoulder"),
}
"""Points that are the midpoint of two named points when a source does not report them."""


@dataclass(frozen=True)
class Correspondences:
    """Index tables that turn body outputs and detections into matched (J,) point lists.

    Each matched point ``j`` is the mean of two source points ``a[j]`` and ``b[j]`` (equal for a
    plain point), so both sides evaluate with one gather and one average.

    Attributes:
        names: (J,) the matched names, torso group first.
        group: (J,) 0 for torso, 1 for limb.
        body_a, body_b: (J,) indices into ``cat([keypoints, joints], dim=-2)`` of the body output.
        det_a, det_b: (J,) indices into the detector's keypoint list.
    """

    names: tuple[str, ...]
    group: np.ndarray
    body_a: np.ndarray
    body_b: np.ndarray
    det_a: np.ndarray
    det_b: np.ndarray

    @property
    def num_points(self) -> int:
        return len(self.names)

    def body_points(self, keypoints: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
        """Matched 3D points.

        Args:
            keypoints: (B, 23, 3) body keypoints (``KEYPOINT_NAMES`` order).
            joints: (B, 22, 3) body joints (``BODY_JOINT_NAMES`` order).

        Returns:
            (B, J, 3).
        """
        src = torch.cat([keypoints, joints], dim=-2)
        a = torch.as_tensor(self.body_a, device=src.device)
        b = torch.as_tensor(self.body_b, device=src.device)
        return 0.5 * (src[..., a, :] + src[..., b, :])

    def detections(self, xy: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matched 2D points and confidences.

        Args:
            xy: (..., K, 2) detected pixels; conf: (..., K) confidences, in the detector's names.

        Returns:
            xy (..., J, 2) and conf (..., J); a virtual point takes the smaller confidence.
        """
        xy_m = 0.5 * (xy[..., self.det_a, :] + xy[..., self.det_b, :])
        conf_m = np.minimum(conf[..., self.det_a], conf[..., self.det_b])
        return xy_m, conf_m


def _resolve(name: str, lookup: dict[str, int], what: str) -> tuple[int, int]:
    if name in lookup:
        return lookup[name], lookup[name]
    if name in VIRTUAL_MIDPOINTS:
        a, b = VIRTUAL_MIDPOINTS[name]
        if a in lookup and b in lookup:
            return lookup[a], lookup[b]
    raise InputError(
        f"lift correspondence {name!r} is not among the {what} ({', '.join(sorted(lookup))}) and cannot be "
        f"built as a midpoint; expected a name of inhabit.conventions.KEYPOINT_NAMES or BODY_JOINT_NAMES"
    )


def build_correspondences(
    detector_names: tuple[str, ...] | list[str],
    torso: tuple[str, ...] = TORSO_NAMES,
    limb: tuple[str, ...] = LIMB_NAMES,
    body_keypoint_names: tuple[str, ...] = KEYPOINT_NAMES,
    body_joint_names: tuple[str, ...] = BODY_JOINT_NAMES,
) -> Correspondences:
    """Match ``torso`` + ``limb`` names between a body and a detector's keypoint list.

    Raises:
        InputError: naming a group entry that neither side can provide.
    """
    names = tuple(torso) + tuple(limb)
    if len(set(names)) != len(names):
        raise InputError(f"lift correspondence names repeat: {names}; each name may appear once in torso+limb")
    # Keypoints take precedence over joints of the same name (shoulders, hips...): see module doc.
    body_lookup = {n: len(body_keypoint_names) + i for i, n in enumerate(body_joint_names)}
    body_lookup.update({n: i for i, n in enumerate(body_keypoint_names)})
    det_lookup = {n: i for i, n in enumerate(detector_names)}
    body = [_resolve(n, body_lookup, "body keypoints and joints") for n in names]
    det = [_resolve(n, det_lookup, "detected keypoints") for n in names]
    return Correspondences(
        names=names,
        group=np.array([0] * len(torso) + [1] * len(limb), dtype=np.int64),
        body_a=np.array([b[0] for b in body], dtype=np.int64),
        body_b=np.array([b[1] for b in body], dtype=np.int64),
        det_a=np.array([d[0] for d in det], dtype=np.int64),
        det_b=np.array([d[1] for d in det], dtype=np.int64),
    )
