"""2D perception: keypoint detection (BlazePose default) and person/foreground masks.

Importing this package does not import mediapipe or load any model: graphs are created on first use.
"""

from inhabit.perceive.keypoints import (
    BLAZEPOSE_LANDMARK_NAMES,
    BLAZEPOSE_TO_KEYPOINTS,
    BlazePoseDetector,
    KeypointDetector,
    accept_person,
    map_keypoints_by_name,
    normalized_to_pixels,
)
from inhabit.perceive.segment import (
    BackgroundDifferenceSegmenter,
    DifferenceConfig,
    FrameMasks,
    PersonMasker,
    Sam2Segmenter,
    Segmenter,
    SegmentPrompts,
    farthest_point_sampling,
    foreground_mask,
    person_mask,
    static_background_masks,
)

__all__ = [
    "BLAZEPOSE_LANDMARK_NAMES",
    "BLAZEPOSE_TO_KEYPOINTS",
    "BackgroundDifferenceSegmenter",
    "BlazePoseDetector",
    "DifferenceConfig",
    "FrameMasks",
    "KeypointDetector",
    "PersonMasker",
    "Sam2Segmenter",
    "SegmentPrompts",
    "Segmenter",
    "accept_person",
    "farthest_point_sampling",
    "foreground_mask",
    "map_keypoints_by_name",
    "normalized_to_pixels",
    "person_mask",
    "static_background_masks",
]
