"""The metrics of both papers and the ground-truth errors, as one import (pure functions).

See ``docs/evaluation.md`` for every definition, unit and source. The functions live in:

* :mod:`inhabit.evaluate.semantic` — CLIP score (GenZI cosine, ZeroHSI x100), MeanOfAll/MeanOfMax,
  CLIP consistency;
* :mod:`inhabit.evaluate.diversity` — GenZI k-means entropy / cluster size, ZeroHSI sequence diversity;
* :mod:`inhabit.evaluate.physical` — non-collision, contact, penetration, foot sliding, hand-object
  contact, object penetration;
* :mod:`inhabit.evaluate.accuracy` — MPJPE, PA-MPJPE, root, camera and object pose errors, ROC AUC.
"""

from inhabit.evaluate.accuracy import (
    camera_pose_errors,
    mpjpe,
    mpjpe_per_item,
    object_pose_errors,
    pa_mpjpe,
    pa_mpjpe_per_item,
    procrustes_align,
    rigid_pose_errors,
    roc_auc,
    root_error,
    rotation_error_deg,
)
from inhabit.evaluate.diversity import (
    entropy_and_cluster_size,
    genzi_k,
    kmeans,
    kmeans_diversity,
    pose_features,
    sequence_diversity,
)
from inhabit.evaluate.physical import (
    body_object_penetration,
    contact,
    foot_sliding,
    hand_object_contact_ratio,
    hand_vertex_mask,
    nemf_velocity,
    non_collision,
    penetration_stats,
    sdf_values,
    support_height,
    to_object_frame,
)
from inhabit.evaluate.semantic import (
    clip_consistency,
    clip_cosine,
    clip_score_100,
    mean_of_all,
    mean_of_max,
    result_clip_score,
)

__all__ = [
    "body_object_penetration",
    "camera_pose_errors",
    "clip_consistency",
    "clip_cosine",
    "clip_score_100",
    "contact",
    "entropy_and_cluster_size",
    "foot_sliding",
    "genzi_k",
    "hand_object_contact_ratio",
    "hand_vertex_mask",
    "kmeans",
    "kmeans_diversity",
    "mean_of_all",
    "mean_of_max",
    "mpjpe",
    "mpjpe_per_item",
    "nemf_velocity",
    "non_collision",
    "object_pose_errors",
    "pa_mpjpe",
    "pa_mpjpe_per_item",
    "penetration_stats",
    "pose_features",
    "procrustes_align",
    "result_clip_score",
    "rigid_pose_errors",
    "roc_auc",
    "root_error",
    "rotation_error_deg",
    "sdf_values",
    "sequence_diversity",
    "support_height",
    "to_object_frame",
]
