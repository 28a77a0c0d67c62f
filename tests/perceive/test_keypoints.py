"""Keypoint detection: name mapping, coordinate conversion, acceptance rule, detector edge cases."""

import numpy as np
import pytest

from inhabit.conventions import COCO17_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.perceive.keypoints import (
    BLAZEPOSE_LANDMARK_NAMES,
    BLAZEPOSE_TO_KEYPOINTS,
    BlazePoseDetector,
    KeypointDetector,
    accept_person,
    doctor_status,
    map_keypoints_by_name,
    normalized_to_pixels,
)
from inhabit.structures import Keypoints2D


def test_blazepose_names_match_mediapipe_enum():
    mp = pytest.importorskip("mediapipe")
    enum = mp.solutions.pose.PoseLandmark
    assert len(BLAZEPOSE_LANDMARK_NAMES) == len(enum) == 33
    for member in enum:
        assert BLAZEPOSE_LANDMARK_NAMES[int(member)] == member.name.lower()


def test_mapping_covers_every_keypoint_by_documented_source():
    assert set(BLAZEPOSE_TO_KEYPOINTS) == set(KEYPOINT_NAMES)
    assert BLAZEPOSE_TO_KEYPOINTS["left_big_toe"] == "left_foot_index"
    assert BLAZEPOSE_TO_KEYPOINTS["right_heel"] == "right_heel"
    assert BLAZEPOSE_TO_KEYPOINTS["left_small_toe"] == ("left_foot_index", 0.0)
    for n in COCO17_NAMES:
        assert BLAZEPOSE_TO_KEYPOINTS[n] == n and n in BLAZEPOSE_LANDMARK_NAMES


def test_map_keypoints_by_name_values():
    # 33 source points whose xy encode their index, so every mapped value can be checked.
    src_xy = np.stack([np.arange(33), 100 + np.arange(33)], axis=1)[None].astype(np.float32)
    src_conf = np.linspace(0.0, 1.0, 33)[None].astype(np.float32)
    kp = map_keypoints_by_name(src_xy, src_conf, BLAZEPOSE_LANDMARK_NAMES, BLAZEPOSE_TO_KEYPOINTS)
    assert kp.names == KEYPOINT_NAMES and kp.xy.shape == (1, 23, 2)
    for k, name in enumerate(KEYPOINT_NAMES):
        src = BLAZEPOSE_TO_KEYPOINTS[name]
        src_name, factor = (src, 1.0) if isinstance(src, str) else src
        i = BLAZEPOSE_LANDMARK_NAMES.index(src_name)
        np.testing.assert_array_equal(kp.xy[0, k], [i, 100 + i])
        assert kp.conf[0, k] == pytest.approx(src_conf[0, i] * factor)
    # spot checks by hand: left_hip is BlazePose 23, right_big_toe is right_foot_index = 32
    assert tuple(kp.xy[0, KEYPOINT_NAMES.index("left_hip")]) == (23, 123)
    assert tuple(kp.xy[0, KEYPOINT_NAMES.index("right_big_toe")]) == (32, 132)
    assert kp.conf[0, KEYPOINT_NAMES.index("right_small_toe")] == 0.0


def test_map_keypoints_by_name_unlisted_nonfinite_and_bad_source():
    xy = np.array([[[1.0, 2.0], [np.nan, 5.0]]], np.float32)
    conf = np.array([[0.9, 0.8]], np.float32)
    kp = map_keypoints_by_name(xy, conf, ("a", "b"), {"x": "a", "y": "b"}, target_names=("x", "y", "z"))
    np.testing.assert_array_equal(kp.conf, [[np.float32(0.9), 0.0, 0.0]])  # y non-finite, z unlisted
    np.testing.assert_array_equal(kp.xy[0, 1:], 0.0)
    with pytest.raises(KeyError, match="'q', which is not a source point name"):
        map_keypoints_by_name(xy, conf, ("a", "b"), {"x": "q"}, target_names=("x",))


def test_normalized_to_pixels_corner_convention():
    # x_norm = 0 is the image's left edge, 1 its right edge; the centre of column j of a W=4 image is
    # at x_norm = (j + 0.5) / 4 -> j + 0.5 px. Points beyond the border are kept.
    got = normalized_to_pixels(np.array([[0.0, 0.0], [1.0, 1.0], [0.125, 0.25], [-0.5, 1.5]]), 4, 8)
    np.testing.assert_allclose(got, [[0, 0], [4, 8], [0.5, 2.0], [-2.0, 12.0]])


def _kp_with_scores(scores_17, feet=(1.0,) * 6):
    conf = np.array([list(scores_17) + list(feet)], np.float32)
    return Keypoints2D(np.zeros((1, 23, 2), np.float32), conf)


def test_accept_person_genzi_rule():
    # exactly 13 of 17 at >= 0.25 (0.25 itself counts) -> accepted; 12 -> rejected
    s13 = [0.25] * 13 + [0.24] * 4
    s12 = [0.9] * 12 + [0.2] * 5
    kp = Keypoints2D.stack([_kp_with_scores(s13), _kp_with_scores(s12), Keypoints2D.empty(1)])
    np.testing.assert_array_equal(accept_person(kp), [True, False, False])
    # the six foot points do not count, even when all confident
    assert not accept_person(_kp_with_scores([0.9] * 12 + [0.0] * 5, feet=(1.0,) * 6))[0]
    # custom thresholds
    np.testing.assert_array_equal(accept_person(kp, min_score=0.5, min_count=12), [False, True, False])
    with pytest.raises(ValueError, match=r"min_count must be in 0\.\.17"):
        accept_person(kp, min_count=18)


def test_accept_person_missing_coco_names_count_as_not_found():
    names = COCO17_NAMES[:14]
    kp = Keypoints2D(np.zeros((1, 14, 2)), np.ones((1, 14)), names)
    assert accept_person(kp)[0]  # 14 present >= 13
    assert not accept_person(kp, min_count=15)[0]


def test_model_complexity_other_than_one_is_a_clear_error():
    with pytest.raises(InputError, match=r"model_complexity=2 is not available offline: mediapipe 0\.10\.21 bundles only"):
        BlazePoseDetector(model_complexity=2)
    with pytest.raises(InputError, match="min_detection_confidence must be in"):
        BlazePoseDetector(min_detection_confidence=1.5)
    with pytest.raises(InputError, match="confidence must be 'visibility', 'presence' or 'min'"):
        BlazePoseDetector(confidence="max")


@pytest.fixture(scope="module")
def detector():
    with BlazePoseDetector() as d:
        yield d


def test_bad_images_are_input_errors(detector):
    assert isinstance(detector, KeypointDetector)
    with pytest.raises(InputError, match=r"images\[1\] has shape \(8, 8\) and dtype uint8; expected an \(H, W, 3\)"):
        detector.detect([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)])
    with pytest.raises(InputError, match=r"images\[0\] has shape \(8, 8, 3\) and dtype float32"):
        detector.detect([np.zeros((8, 8, 3), np.float32)])


def test_no_person_is_zero_confidence_not_an_error(detector, capfd):
    rng = np.random.default_rng(0)
    imgs = [np.zeros((96, 128, 3), np.uint8), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)]
    kp = detector.detect(imgs)
    assert kp.xy.shape == (2, 23, 2) and kp.names == KEYPOINT_NAMES
    np.testing.assert_array_equal(kp.conf, 0.0)
    assert not accept_person(kp).any()
    assert len(detector.detect([])) == 0
    # mediapipe's known start-up noise is filtered out of stderr
    err = capfd.readouterr().err
    assert "GetPrototype" not in err and "XNNPACK" not in err


def test_doctor_status_reports_bundled_models():
    (st,) = doctor_status()
    assert st.optional is False
    assert st.found, st.location
    assert "0.10.21" in st.component


def test_quiet_native_stderr_drops_only_known_noise(capfd):
    import os

    from inhabit.perceive._mediapipe import quiet_native_stderr

    with quiet_native_stderr():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"something real went wrong\n")
    err = capfd.readouterr().err
    assert "something real went wrong" in err
    assert "XNNPACK" not in err
