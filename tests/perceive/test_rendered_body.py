"""BlazePose and the person masker on a rendered anny body, against the body's projected keypoints.

One case (standing, front view, clothed, plain background, 512²) with a generous bound; the full
grid of poses, views, looks and backgrounds is in ``benchmarks/keypoints_accuracy.py``.
"""

import math

import numpy as np
import pytest

from inhabit.perceive.keypoints import BlazePoseDetector, accept_person
from inhabit.perceive.synthetic import (
    LIMB_JOINTS,
    clothed_vertex_colors,
    group_errors,
    keypoint_errors,
    project_keypoints,
)

SIZE = 512


@pytest.fixture(scope="module")
def rendered():
    from inhabit.body import load_body_model
    from inhabit.body.parts import PART_NAMES
    from inhabit.body.poses import make_pose
    from inhabit.camera.pinhole import Camera
    from inhabit.render.mesh import MeshRenderer, RenderSettings, mesh_from_arrays

    model = load_body_model("anny")
    out = model(make_pose(model, "standing"))
    verts = out.vertices[0].detach().numpy()
    kp3d = out.keypoints[0].detach().numpy()
    colors = clothed_vertex_colors(model.vertex_parts(), PART_NAMES)
    lo, hi = verts.min(0), verts.max(0)
    target = 0.5 * (lo + hi)
    dist = ((hi[2] - lo[2]) / 0.8) / (2 * math.tan(math.radians(20.0)))
    # the body faces -Y: a camera on -Y looks at its front
    cam = Camera.look_at(target + np.array([0.0, -dist, 0.3]), target, SIZE, SIZE, fov_y_deg=40.0)
    r = MeshRenderer().render(cam, mesh_from_arrays(verts, model.faces, colors=colors), ("rgb", "face_id"),
                              settings=RenderSettings(background=(0.78, 0.8, 0.82)))
    return r.rgb, r.mask, project_keypoints(kp3d, cam)


@pytest.fixture(scope="module")
def detector():
    with BlazePoseDetector() as d:
        yield d


def test_standing_front_view_limb_error_and_acceptance(rendered, detector):
    rgb, _, gt = rendered
    kp = detector.detect([rgb])
    assert accept_person(kp)[0]
    err = keypoint_errors(kp, gt)
    assert np.isfinite(err[0, [gt.names.index(n) for n in LIMB_JOINTS]]).all()
    groups = group_errors(err)
    # measured ~2-3 px on this case (benchmarks/keypoints_accuracy.py); a generous bound
    assert groups["limbs12"] < 15.0, groups
    # left/right are the person's own sides: facing the camera, the left wrist is on the image's right
    li, ri = kp.names.index("left_wrist"), kp.names.index("right_wrist")
    assert kp.xy[0, li, 0] > SIZE / 2 > kp.xy[0, ri, 0]
    # BlazePose has no small toe: position copied from the toe tip, confidence 0
    assert kp.conf[0, kp.names.index("left_small_toe")] == 0.0


def test_pixel_coordinates_follow_the_image_content(rendered, detector):
    """Shifting the content by 100 px shifts the keypoints by 100 px; non-square canvases do not
    distort them (x is normalised by the width, y by the height, and padding keeps pixels fixed)."""
    rgb, _, _ = rendered
    bg = rgb[0, 0]
    wide = np.empty((SIZE, SIZE + 100, 3), np.uint8)
    wide[:] = bg
    wide[:, 100:] = rgb
    tall = np.empty((SIZE + 160, SIZE, 3), np.uint8)
    tall[:] = bg
    tall[:SIZE] = rgb
    kp = detector.detect([rgb, wide, tall])
    coco = slice(0, 17)
    dx = kp.xy[1, coco] - kp.xy[0, coco]
    dy = kp.xy[2, coco] - kp.xy[0, coco]
    assert abs(np.median(dx[:, 0]) - 100.0) < 3.0 and abs(np.median(dx[:, 1])) < 3.0
    assert abs(np.median(dy[:, 0])) < 3.0 and abs(np.median(dy[:, 1])) < 3.0


def test_person_mask_matches_the_rendered_silhouette(rendered):
    from inhabit.perceive.segment import person_mask

    rgb, mask, _ = rendered
    m = person_mask(rgb) >= 0.5
    iou = (m & mask).sum() / (m | mask).sum()
    assert iou > 0.85, iou  # measured ~0.94
    from inhabit.perceive.segment import PersonMasker

    with PersonMasker("pose") as pm:
        m = pm.mask(rgb) >= 0.5
    iou = (m & mask).sum() / (m | mask).sum()
    assert iou > 0.9, iou  # measured ~0.975


def test_default_segmenter_on_a_rendered_person_and_object():
    """The default segmenter end to end (real person masker): the frame is the body and a box in
    front of a textured wall; the background is the wall rendered alone."""
    from inhabit.body import load_body_model
    from inhabit.body.poses import make_pose
    from inhabit.camera.pinhole import Camera
    from inhabit.perceive.segment import BackgroundDifferenceSegmenter, SegmentPrompts
    from inhabit.render.mesh import MeshRenderer, mesh_from_arrays
    from inhabit.scene.mesh import MeshPart

    model = load_body_model("anny")
    out = model(make_pose(model, "standing"))
    verts = out.vertices[0].detach().numpy()
    rng = np.random.default_rng(3)
    tex = np.clip(140 + 40 * rng.normal(size=(32, 32, 3)), 0, 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    wall = MeshPart(np.array([[-3, 1.5, -2], [3, 1.5, -2], [3, 1.5, 2], [-3, 1.5, 2]], np.float32),
                    np.array([[0, 2, 1], [0, 3, 2]]), uv=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32),
                    texture=tex, base_color=np.ones(4))
    lo, hi = np.array([0.45, -0.3, -0.2]), np.array([0.75, 0.0, 0.1])  # a box beside the right hand
    bv = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    bf = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                   [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    box = mesh_from_arrays(bv, bf, colors=(0.1, 0.7, 0.2))
    cam = Camera.look_at([0.0, -3.6, 0.1], [0.0, 0.0, -0.05], 384, 384, fov_y_deg=40.0)
    r = MeshRenderer()
    background = r.render(cam, wall, ("rgb",)).rgb
    frame = r.render(cam, [wall, box, mesh_from_arrays(verts, model.faces)], ("rgb", "face_id"))
    obj_gt, human_gt = frame.mesh_mask(1), frame.mesh_mask(2)
    prompts = SegmentPrompts.from_masks(human_gt, obj_gt, num_points=3)
    masks = BackgroundDifferenceSegmenter().segment([frame.rgb, frame.rgb], prompts, backgrounds=background)
    for t in range(2):
        h_iou = (masks.human[t] & human_gt).sum() / (masks.human[t] | human_gt).sum()
        o_iou = (masks.object[t] & obj_gt).sum() / (masks.object[t] | obj_gt).sum()
        assert h_iou > 0.85 and o_iou > 0.8, (t, h_iou, o_iou)
