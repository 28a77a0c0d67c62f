"""Fitting through the splatter: recover a known camera offset, object pose and body pose.

Ground truth is made here: each target image is rendered from the same assets at the true
parameters, the parameters are perturbed, and Adam on the rendered-image loss must bring them back.
This checks, end to end, that the renderer's gradients reach camera, object and body parameters and
are good enough to fit with — the three fits ZeroHSI runs per frame (§3.3-3.4).

1. **Camera** — demo room as Gaussians, 128² view; offset by 2° about a random axis and 5 cm;
   ZeroHSI's camera loss (L2 on the static background), a 6D + translation delta on
   ``T_cam_world``.
2. **Object** — a patterned object (box + cylinder, vertex colours) as Gaussians on the room's
   table, a :class:`~inhabit.scene.gaussians.RigidObject`; offset by 10° and 4 cm; ZeroHSI's object
   loss: 0.9·L1 + 0.1·D-SSIM, plus the mask-centre and mask-depth terms (weights 1e-3) computed from
   an ``extra`` mask channel rendered in the same pass.
3. **Body** — an anny :class:`~inhabit.body.gaussian_human.GaussianHuman` coloured by body part, in
   the library's ``walk_0`` pose; the 21 joint rotations perturbed by 10° (std per axis); body pose
   fitted with 0.9·L1 + 0.1·D-SSIM from two views (front and side, 128²).

Errors are printed before and after: rotation (degrees), translation / camera centre (cm), body
joints (MPJPE, mm) and vertices (mean, mm).

    .venv/bin/python benchmarks/splat_fit.py [--quick] [--threads 2]
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, print_table, setup_env, write_results


def ssim(a, b, window: int = 11, sigma: float = 1.5):
    """Mean SSIM of two (H, W, C) images in [0, 1] (Gaussian window, the 3DGS loss's form)."""
    import torch
    import torch.nn.functional as F

    x = torch.arange(window, dtype=a.dtype) - window // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    k = (g[:, None] * g[None, :])[None, None].repeat(a.shape[-1], 1, 1, 1)
    A, B = a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None]

    def blur(t):
        return F.conv2d(t, k, padding=window // 2, groups=t.shape[1])

    mu_a, mu_b = blur(A), blur(B)
    va, vb, cov = blur(A * A) - mu_a**2, blur(B * B) - mu_b**2, blur(A * B) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return s.mean()


def rgb_loss(pred, target, lam: float = 0.1):
    """ZeroHSI's L_rgb = (1 - λ) L1 + λ D-SSIM, D-SSIM = (1 - SSIM) / 2."""
    return (1 - lam) * (pred - target).abs().mean() + lam * (1 - ssim(pred, target)) / 2


def rot_err_deg(Ra, Rb) -> float:
    c = (float((Ra.T @ Rb).trace()) - 1) / 2
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def perturb(T, deg: float, cm: float, seed: int):
    import roma
    import torch

    g = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(3, generator=g, dtype=torch.float64), dim=0)
    shift = torch.nn.functional.normalize(torch.randn(3, generator=g, dtype=torch.float64), dim=0) * cm / 100
    out = T.clone()
    out[:3, :3] = roma.rotvec_to_rotmat(axis * math.radians(deg)).to(T.dtype) @ T[:3, :3]
    out[:3, 3] = T[:3, 3] + shift.to(T.dtype)
    return out


def fit_camera(room, camera, iters: int, res: int) -> dict:
    import torch

    from inhabit.render.splat import NativeSplatter
    from inhabit.rotations import rigid_from_rotation6d, rotmat_to_rotation6d

    cam = camera(res)
    sp = NativeSplatter()
    T_true = torch.as_tensor(cam.T_cam_world, dtype=torch.float32)
    with torch.no_grad():
        target = sp.render(room, cam).rgb
    # Perturb the camera's pose in the world (its centre by 5 cm, its orientation by 2 degrees).
    T_wc = perturb(torch.linalg.inv(T_true), 2.0, 5.0, seed=1)
    T_init = torch.linalg.inv(T_wc)
    r6 = rotmat_to_rotation6d(torch.eye(3)).requires_grad_()
    t = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([r6, t], lr=2e-3)

    def errors(T):
        c = -(T[:3, :3].T @ T[:3, 3])
        c_true = -(T_true[:3, :3].T @ T_true[:3, 3])
        return rot_err_deg(T[:3, :3], T_true[:3, :3]), 100 * float((c - c_true).norm())

    before = errors(T_init)
    t0 = time.perf_counter()
    for _ in range(iters):
        opt.zero_grad()
        T = rigid_from_rotation6d(r6, t) @ T_init
        loss = (sp.render(room, cam, T_cam_world=T).rgb - target).square().mean()
        loss.backward()
        opt.step()
    after = errors((rigid_from_rotation6d(r6, t) @ T_init).detach())
    return {"fit": "camera", "iters": iters, "before_deg": before[0], "after_deg": after[0],
            "before_cm": before[1], "after_cm": after[1], "seconds": time.perf_counter() - t0}


def patterned_object():
    """A 24 x 16 x 20 cm box with a spout, vertex-coloured stripes and checks, as Gaussians (object frame)."""
    import trimesh

    from inhabit.scene.gaussians_mesh import gaussians_from_mesh
    from inhabit.scene.mesh import MeshPart, SceneMesh

    body = trimesh.creation.box(extents=(0.24, 0.16, 0.2)).subdivide().subdivide().subdivide()
    spout = trimesh.creation.cylinder(radius=0.025, height=0.2, sections=24).subdivide()
    spout.apply_transform(trimesh.transformations.rotation_matrix(math.radians(60), [0, 1, 0]))
    spout.apply_translation([0.17, 0.0, 0.08])
    parts = []
    for m, base in ((body, (0.9, 0.5, 0.1)), (spout, (0.2, 0.4, 0.9))):
        v = np.asarray(m.vertices)
        pattern = 0.5 + 0.5 * np.sign(np.sin(40 * v[:, 0]) * np.sin(40 * v[:, 1]) * np.sin(40 * v[:, 2]))
        col = np.clip(np.asarray(base)[None] * (0.4 + 0.6 * pattern[:, None]), 0, 1)
        parts.append(MeshPart(v, np.asarray(m.faces), vertex_colors=col))
    return gaussians_from_mesh(SceneMesh(parts), spacing=0.006, seed=0)


def fit_object(room, iters: int, res: int) -> dict:
    import numpy as np
    import torch

    from inhabit.camera.pinhole import Camera
    from inhabit.render.splat import NativeSplatter
    from inhabit.rotations import rotation_about
    from inhabit.scene.demo import make_demo_scene
    from inhabit.scene.gaussians import GaussianSet, RigidObject

    scene = make_demo_scene("room")
    anchor = np.asarray(scene.points.get("stand_table", np.array([0.0, 0.0, 0.75])), dtype=np.float64)
    obj_local = patterned_object()
    T_true = torch.eye(4)
    T_true[:3, :3] = rotation_about("z", 35.0)
    T_true[:3, 3] = torch.tensor([anchor[0], anchor[1], 0.9])
    cam = Camera.look_at(np.array([anchor[0] + 0.3, anchor[1] - 1.0, 1.45]), np.array([anchor[0], anchor[1], 0.85]),
                         res, res, fov_y_deg=50)
    sp = NativeSplatter()
    n_obj = len(obj_local)
    mask_col = torch.cat([torch.zeros(len(room), 1), torch.ones(n_obj, 1)])

    def render(obj: RigidObject):
        return sp.render(GaussianSet.cat([room, obj.world_gaussians()]), cam, extra=mask_col)

    with torch.no_grad():
        ref = render(RigidObject(obj_local, T_true))
    target, target_mask = ref.rgb, ref.extra[..., 0]
    H, W = target_mask.shape
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")

    def centre(m):
        s = m.sum().clamp_min(1e-6)
        return torch.stack([(m * xs).sum() / s / W, (m * ys).sum() / s / H])

    c_target = centre(target_mask)
    d_target = (ref.depth * target_mask).sum() / target_mask.sum()
    T_init = perturb(T_true, 10.0, 4.0, seed=2)
    obj = RigidObject(obj_local, T_init)
    opt = torch.optim.Adam(obj.parameters(), lr=3e-3)

    def errors(T):
        return rot_err_deg(T[:3, :3], T_true[:3, :3]), 100 * float((T[:3, 3] - T_true[:3, 3]).norm())

    before = errors(T_init)
    t0 = time.perf_counter()
    for _ in range(iters):
        opt.zero_grad()
        out = render(obj)
        m = out.extra[..., 0]
        d = (out.depth * m).sum() / m.sum().clamp_min(1e-6)
        loss = rgb_loss(out.rgb, target) + 1e-3 * (centre(m) - c_target).square().sum() + 1e-3 * (d - d_target) ** 2
        loss.backward()
        opt.step()
    after = errors(obj.T_world_object().detach())
    return {"fit": "object", "iters": iters, "before_deg": before[0], "after_deg": after[0],
            "before_cm": before[1], "after_cm": after[1], "gaussians": n_obj, "seconds": time.perf_counter() - t0}


def fit_body(iters: int, res: int) -> dict:
    import numpy as np
    import torch

    from inhabit.body import load_body_model
    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.body.poses import make_pose
    from inhabit.camera.pinhole import Camera
    from inhabit.render.splat import NativeSplatter

    body = load_body_model("anny")
    human = GaussianHuman.from_body(body, spacing=0.012, seed=0, color_net=False)
    with torch.no_grad():  # colour by body part so limbs have edges to fit
        parts = body.vertex_parts()
        labels = parts[body.faces[human.face_idx, 0]]
        palette = torch.rand(int(parts.max()) + 1, 3, generator=torch.Generator().manual_seed(0)) * 0.8 + 0.1
        human.base_color_logits.copy_(torch.logit(palette[labels]))
    p_true = make_pose(body, "walk_0")
    p_true.transl[0] = torch.tensor([0.0, 0.0, 0.95])
    g = torch.Generator().manual_seed(3)
    rv_true = body.body_pose_to_smplx_rotvec(p_true.body_pose)
    rv_init = rv_true + math.radians(10.0) * torch.randn(rv_true.shape, generator=g)
    p = p_true.replace(body_pose=body.body_pose_from_smplx_rotvec(rv_init).reshape(1, -1).detach().clone())
    cams = [Camera.look_at(np.array(e), np.array([0.0, 0.0, 0.9]), res, res, fov_y_deg=45)
            for e in ([0.4, -3.2, 1.2], [3.2, 0.4, 1.2])]
    sp = NativeSplatter()
    bg = torch.ones(3)
    with torch.no_grad():
        targets = [sp.render(human(p_true, torch.as_tensor(c.center, dtype=torch.float32)), c, background=bg).rgb
                   for c in cams]
        out_true = body(p_true)

    def errors(params):
        with torch.no_grad():
            o = body(params)
        mpjpe = 1000 * float((o.joints - out_true.joints).norm(dim=-1).mean())
        v = 1000 * float((o.vertices - out_true.vertices).norm(dim=-1).mean())
        return mpjpe, v

    before = errors(p)
    pose = p.body_pose.clone().requires_grad_()
    opt = torch.optim.Adam([pose], lr=1e-2)
    t0 = time.perf_counter()
    for _ in range(iters):
        opt.zero_grad()
        params = p.replace(body_pose=pose)
        out = body(params)
        loss = 0.0
        for c, tgt in zip(cams, targets):
            g_h = human(params, torch.as_tensor(c.center, dtype=torch.float32), body_out=out)
            loss = loss + rgb_loss(sp.render(g_h, c, background=bg).rgb, tgt)
        loss.backward()
        opt.step()
    after = errors(p.replace(body_pose=pose.detach()))
    return {"fit": "body", "iters": iters, "before_mpjpe_mm": before[0], "after_mpjpe_mm": after[0],
            "before_v2v_mm": before[1], "after_v2v_mm": after[1], "gaussians": len(human),
            "seconds": time.perf_counter() - t0}


def main(argv=None) -> dict:
    setup_env()

    def extra(p):
        p.add_argument("--threads", type=int, default=None, help="torch and native threads (default: torch's)")

    args = parse_args(__doc__.splitlines()[0], argv, extra)
    import torch

    from splat_speed import room_gaussians

    if args.threads:
        torch.set_num_threads(args.threads)

    q = args.quick
    room, camera = room_gaussians(20_000 if q else 50_000)
    res = 96 if q else 128
    rows = [fit_camera(room, camera, 60 if q else 150, res)]
    print_table(rows[-1:])
    rows.append(fit_object(room, 60 if q else 150, res))
    print_table(rows[-1:])
    rows.append(fit_body(40 if q else 150, res))
    print_table(rows[-1:])
    print()
    print_table(rows[:2], ["fit", "iters", "before_deg", "after_deg", "before_cm", "after_cm", "seconds"],
                title="Rigid fits (rotation error in degrees, translation / centre error in cm)")
    print_table(rows[2:], ["fit", "iters", "before_mpjpe_mm", "after_mpjpe_mm", "before_v2v_mm", "after_v2v_mm",
                           "seconds"], title="Body pose fit (two views)")
    payload = {"rows": rows, "quick": q}
    write_results("splat_fit", payload, args.out)
    return payload


if __name__ == "__main__":
    main()
