"""ZeroHSI 4D reconstruction: camera tracking, per-frame human/object fitting, refinement, chaining.

Entry points (see ``docs/motion_core.md``):

* :func:`select_initial_camera` — the initial view (appendix C.3);
* :func:`reconstruct_motion` — the per-frame loop (§3.3–3.4) producing a :class:`MotionTrack`;
* :func:`refine_motion` — the sequence refinement (§3.5, C.4);
* :func:`chain_clips` / :meth:`MotionTrack.init_for_next` — long motions (C.7);
* :class:`TrackConfig` and :func:`track_preset` (``"zerohsi"``, ``"fast"``).

The pure pieces live in :mod:`.losses`, :mod:`.delta`, :mod:`.composite`; the thin loops in
:mod:`.camera_track`, :mod:`.keypoint_init`, :mod:`.frame_fit`, :mod:`.motion`, :mod:`.refine`.
"""

from __future__ import annotations

from inhabit.track.config import TRACK_PRESETS, TrackConfig, track_config_from_dict, track_preset

_LAZY = {
    "MotionTrack": "inhabit.track.motion",
    "TrackInit": "inhabit.track.motion",
    "reconstruct_motion": "inhabit.track.motion",
    "chain_clips": "inhabit.track.motion",
    "refine_motion": "inhabit.track.refine",
    "select_initial_camera": "inhabit.track.camera_select",
    "CameraArrayConfig": "inhabit.track.camera_select",
    "fit_pose_to_keypoints": "inhabit.track.keypoint_init",
    "track_camera": "inhabit.track.camera_track",
    "fit_frame": "inhabit.track.frame_fit",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'inhabit.track' has no attribute {name!r}")


__all__ = ["TRACK_PRESETS", "TrackConfig", "track_config_from_dict", "track_preset", *_LAZY]
