"""Every metric that applies to a set of posed bodies or to one motion, from arrays and callables.

This is the layer between the pure metric functions and ``inhabit eval``: it decides which metrics
can be computed from what is available (a scene SDF, an object, a frame rate, CLIP scores) and says
why the others were skipped, instead of inventing numbers. No file I/O happens here.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inhabit.conventions import BODY_JOINT_NAMES
from inhabit.evaluate import diversity, physical, semantic
from inhabit.evaluate._arrays import as_np
from inhabit.evaluate.physical import SDF


@dataclass(frozen=True)
class EvalSettings:
    """Thresholds and options of the metrics (defaults: the papers' values).

    Attributes:
        contact_threshold: GenZI's SDF threshold for contact and non-collision, metres (0).
        penetration_tolerance: depth below which a vertex does not count as penetrating, metres (0).
        hand_contact_threshold: hand-object contact distance, metres (CHOIS: 0.05).
        foot_height_thresholds: NeMF's contact heights (ankle, toe, ankle, toe), metres.
        floor_z: ground height used for foot contact when no scene SDF is available, metres.
        kmeans_ks: GenZI's numbers of clusters.
        kmeans_seed: k-means seed (GenZI: 1).
        include_hand_dims: append GenZI's 24 zero hand dimensions to the pose feature.
    """

    contact_threshold: float = 0.0
    penetration_tolerance: float = 0.0
    hand_contact_threshold: float = 0.05
    foot_height_thresholds: tuple[float, float, float, float] = physical.NEMF_HEIGHT_THRESHOLDS
    floor_z: float = 0.0
    kmeans_ks: tuple[int, ...] = diversity.GENZI_KMEANS_K
    kmeans_seed: int = 1
    include_hand_dims: bool = True


DEFAULT_SETTINGS = EvalSettings()


@dataclass
class Metrics:
    """Numbers plus sentences saying what was skipped and why."""

    values: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def update(self, other: Metrics) -> None:
        self.values.update(other.values)
        self.notes.extend(n for n in other.notes if n not in self.notes)


# --------------------------------------------------------------------------------------------
# Pose results (GenZI)


def pose_body_metrics(vertices: Any, scene_sdf: SDF | None, settings: EvalSettings = DEFAULT_SETTINGS) -> Metrics:
    """Physical metrics of one posed body (GenZI): non-collision, contact, penetration depths.

    Args:
        vertices: (V, 3) world vertices.
        scene_sdf: SDF callable of the scene, or None (the metrics are then skipped with a note).
    """
    m = Metrics()
    if scene_sdf is None:
        m.notes.append("physical metrics skipped: no scene (the run names none; pass --scene)")
        return m
    s = physical.sdf_values(scene_sdf, as_np(vertices).reshape(-1, 3))
    m.values["non_collision"] = float(physical.non_collision(s, settings.contact_threshold))
    m.values["contact"] = float(physical.contact(s, settings.contact_threshold))
    pen = physical.penetration_stats(s[None], settings.penetration_tolerance)
    m.values["pene_pct"] = pen["pene_pct"]
    m.values["depth_max"] = pen["depth_max"]
    return m


def pose_set_metrics(
    per_body: Sequence[Metrics],
    body_pose_smplx: Sequence[Any | None],
    groups: Sequence[Hashable],
    clip_scores: Sequence[float | None] | None = None,
    settings: EvalSettings = DEFAULT_SETTINGS,
) -> Metrics:
    """Aggregate over a set of pose results: averages, CLIP MeanOfAll/MeanOfMax, k-means diversity.

    Args:
        per_body: the :func:`pose_body_metrics` of each result.
        body_pose_smplx: (21, 3) SMPL-X-style pose of each result, or None where unknown.
        groups: interaction label of each result (for MeanOfMax).
        clip_scores: per-result CLIP cosine (mean over views) or None where not computed.
    """
    out = Metrics()
    n = len(per_body)
    out.values["num_results"] = float(n)
    for key in ("non_collision", "contact", "pene_pct", "depth_max"):
        vals = [b.values[key] for b in per_body if key in b.values]
        if vals:
            out.values[key] = float(np.mean(vals))
    for b in per_body:
        for note in b.notes:
            if note not in out.notes:
                out.notes.append(note)
    if clip_scores is not None:
        pairs = [(s, g) for s, g in zip(clip_scores, groups) if s is not None]
        if pairs:
            out.values["clip_mean_of_all"] = semantic.mean_of_all([s for s, _ in pairs])
            out.values["clip_mean_of_max"] = semantic.mean_of_max([s for s, _ in pairs], [g for _, g in pairs])
    poses = [p for p in body_pose_smplx if p is not None]
    if len(poses) < n:
        out.notes.append(
            f"diversity uses {len(poses)} of {n} results: the others store no SMPL-X-style body pose"
        )
    if poses:
        feats = diversity.pose_features(np.stack([as_np(p).reshape(21, 3) for p in poses]), settings.include_hand_dims)
        out.values.update(diversity.kmeans_diversity(feats, settings.kmeans_ks, seed=settings.kmeans_seed))
    return out


# --------------------------------------------------------------------------------------------
# Motions (ZeroHSI)


@dataclass
class MovingObject:
    """A rigid object that moves with the person.

    Attributes:
        sdf: SDF callable in the *object* frame (metres, negative inside), or None.
        T_world_object: (T, 4, 4) pose per frame.
        vertices_world: (T, N, 3) object vertices in the world (for its penetration into the scene),
            or None.
    """

    sdf: SDF | None
    T_world_object: np.ndarray
    vertices_world: np.ndarray | None = None


def motion_metrics(
    vertices: Any,
    joints: Any | None,
    fps: float | None,
    scene_sdf: SDF | None,
    joint_names: Sequence[str] = BODY_JOINT_NAMES,
    hand_mask: Any | None = None,
    obj: MovingObject | None = None,
    settings: EvalSettings = DEFAULT_SETTINGS,
) -> Metrics:
    """Physical metrics of one motion (ZeroHSI): penetration, foot sliding, hand-object contact.

    Args:
        vertices: (T, V, 3) world vertices.
        joints: (T, J, 3) joints named by ``joint_names`` (foot sliding needs the ankles and feet;
            the geometric hand fallback needs wrists and elbows), or None.
        fps: frame rate (foot sliding needs it) or None.
        scene_sdf: scene SDF callable or None.
        hand_mask: (V,) bool hand vertices (from the body model's part labels) or None (then found
            geometrically from the first frame, :func:`physical.hand_vertex_mask`).
        obj: the moving object, or None for static scenes.
    """
    m = Metrics()
    v = as_np(vertices)
    T = v.shape[0]
    m.values["num_frames"] = float(T)
    if scene_sdf is not None:
        s = physical.sdf_values(scene_sdf, v)
        m.values.update(physical.penetration_stats(s, settings.penetration_tolerance))
    else:
        m.notes.append("scene penetration skipped: no scene (the run names none; pass --scene)")

    names = list(joint_names)
    jj = None if joints is None else as_np(joints)
    if jj is None or not set(physical.FOOT_JOINTS) <= set(names):
        m.notes.append("foot sliding skipped: the motion has no named ankle and foot joints")
    elif fps is None:
        m.notes.append("foot sliding skipped: the frame rate is unknown (pass --fps)")
    elif T < 2:
        m.notes.append("foot sliding skipped: a motion needs at least 2 frames")
    else:
        feet = jj[:, [names.index(n) for n in physical.FOOT_JOINTS]]
        if scene_sdf is not None:  # height above the scene surface straight below each joint
            heights = physical.support_height(scene_sdf, feet.reshape(-1, 3)).reshape(T, len(physical.FOOT_JOINTS))
        else:
            heights = feet[..., 2] - settings.floor_z
            m.notes.append(f"foot contact measured above the plane z = {settings.floor_z:g} (no scene SDF)")
        m.values.update(physical.foot_sliding(feet, heights, float(fps), settings.foot_height_thresholds))

    if obj is None:
        return m
    if obj.sdf is not None:
        hands = _hand_mask(v, jj, names, hand_mask)
        if hands is None or not hands.any():
            m.notes.append("hand-object contact skipped: no hand vertices could be identified")
        else:
            local = physical.to_object_frame(v[:, hands], obj.T_world_object)
            m.values.update(physical.hand_object_contact_ratio(physical.sdf_values(obj.sdf, local),
                                                               settings.hand_contact_threshold))
        body_local = physical.to_object_frame(v, obj.T_world_object)
        m.values.update(physical.body_object_penetration(physical.sdf_values(obj.sdf, body_local)))
    else:
        m.notes.append("hand-object metrics skipped: the object has no mesh to measure distances to")
    if obj.vertices_world is not None and scene_sdf is not None:
        pen = physical.penetration_stats(physical.sdf_values(scene_sdf, obj.vertices_world),
                                         settings.penetration_tolerance)
        m.values["obj_scene_pene_pct"] = pen["pene_pct"]
        m.values["obj_scene_depth_mean"] = pen["depth_mean"]
        m.values["obj_scene_depth_max"] = pen["depth_max"]
    return m


def _hand_mask(v: np.ndarray, joints: np.ndarray | None, names: list[str], hand_mask: Any | None) -> np.ndarray | None:
    if hand_mask is not None:
        return np.asarray(hand_mask, bool).reshape(-1)
    need = ("left_wrist", "left_elbow", "right_wrist", "right_elbow")
    if joints is None or not set(need) <= set(names):
        return None
    j0 = joints[0]
    left = physical.hand_vertex_mask(v[0], j0[names.index("left_wrist")], j0[names.index("left_elbow")])
    right = physical.hand_vertex_mask(v[0], j0[names.index("right_wrist")], j0[names.index("right_elbow")])
    return left | right


def motion_clip_metrics(frame_emb: Any, text_emb: Any) -> Metrics:
    """ZeroHSI's semantic metrics of rendered frames: CLIP score (x100) and CLIP consistency.

    Args:
        frame_emb: (T, D) image embeddings of the rendered frames; text_emb: (D,) of the prompt.
    """
    m = Metrics()
    m.values["clip_score"] = float(semantic.clip_score_100(frame_emb, text_emb).mean())
    m.values["clip_cosine"] = float(semantic.clip_cosine(frame_emb, text_emb).mean())
    if as_np(frame_emb).shape[0] >= 2:
        m.values["clip_consistency"] = semantic.clip_consistency(frame_emb)
    return m


def motion_set_metrics(joint_sequences: Sequence[Any]) -> Metrics:
    """ZeroHSI's diversity over sequences generated from the same input (>= 2 sequences).

    Args:
        joint_sequences: S arrays (T_s, J, 3).
    """
    m = Metrics()
    if len(joint_sequences) < 2:
        m.notes.append("motion diversity skipped: needs at least 2 sequences generated from the same input")
        return m
    m.values["diversity"] = diversity.sequence_diversity(joint_sequences)
    m.values["num_sequences"] = float(len(joint_sequences))
    return m
