"""A Gaussian human bound to the body model's surface (the avatar ZeroHSI renders and fits).

Binding (any :class:`~inhabit.body.protocol.BodyModel`, anny by default): each Gaussian ``i`` keeps
a triangle ``f_i``, barycentric coordinates ``b_i`` and an offset ``h_i`` along the triangle's
normal, plus a rotation ``Q_i`` and log-scales ``s_i`` expressed in the triangle's frame
``F = [e1, e2, n]`` (``e1`` along the first edge, ``n`` the outward normal). For posed vertices V::

    mean_i = Σ_k b_ik V[f_i, k] + h_i n(f_i)        rotation_i = F(f_i) Q_i
    scale_i = exp(s_i) · (√(A/A_rest), √(A/A_rest), 1)    (in-plane axes follow the skin's stretch)

so the Gaussians ride the linear-blend-skinned mesh exactly and are differentiable w.r.t.
:class:`~inhabit.body.protocol.BodyParams` through the body model.

Appearance: a per-Gaussian base colour plus a small colour network (ZeroHSI's ``F_color(Θ, V(T))``)
conditioned on the pose (the SMPL-X-style rotvecs of the 21 body joints, so every backend speaks
the same pose), the view direction in the body frame, and a positional encoding of the Gaussian's
rest-pose position::

    colour_i = sigmoid(base_logit_i + MLP([PE(x_i^rest), d_i^body]) + W_pose · θ)

The network's last layer starts at zero (the colour is the base colour until fine-tuned);
:meth:`GaussianHuman.color_parameters` lists what ZeroHSI fine-tunes (every 5 steps, lr 1e-5).
:meth:`GaussianHuman.init_appearance_from_image` sets the base colours from a first frame.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from inhabit.body.protocol import BodyModel, BodyOutput, BodyParams
from inhabit.errors import InputError
from inhabit.scene.gaussians import GaussianSet


def triangle_frames(verts: torch.Tensor, faces: torch.Tensor, normal_sign: float = 1.0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-triangle orthonormal frames and areas.

    Args:
        verts: (B, V, 3). faces: (F, 3) long. normal_sign: +1 or -1 to make normals point outward.

    Returns:
        frames (B, F, 3, 3) with columns ``[e1, e2, n]`` and areas (B, F). Degenerate triangles
        get a finite but arbitrary frame (their lengths are clamped at 1e-12).
    """
    v0, v1, v2 = verts[:, faces[:, 0]], verts[:, faces[:, 1]], verts[:, faces[:, 2]]
    a = v1 - v0
    cr = torch.cross(a, v2 - v0, dim=-1)
    area2 = cr.norm(dim=-1)
    n = normal_sign * cr / area2.clamp_min(1e-12)[..., None]
    e1 = a / a.norm(dim=-1).clamp_min(1e-12)[..., None]
    e2 = torch.cross(n, e1, dim=-1)
    return torch.stack([e1, e2, n], dim=-1), 0.5 * area2


def bind_points(verts: torch.Tensor, faces: torch.Tensor, face_idx: torch.Tensor, bary: torch.Tensor,
                offset: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Points on posed triangles.

    Args:
        verts: (B, V, 3). faces: (F, 3). face_idx: (M,) long. bary: (M, 3). offset: (M,).
        normals: (B, M, 3) unit normals of the bound triangles.

    Returns:
        (B, M, 3) ``Σ_k bary_k V[face, k] + offset · normal``.
    """
    tri = verts[:, faces[face_idx]]  # (B, M, 3, 3)
    return torch.einsum("mk,bmkd->bmd", bary, tri) + offset[None, :, None] * normals


def mesh_signed_volume(verts: torch.Tensor, faces: torch.Tensor) -> float:
    """Signed volume of a (closed) triangle mesh; positive when the faces wind outward."""
    v = verts.detach().double()
    f = faces.long()
    return float(torch.einsum("fi,fi->f", v[f[:, 0]], torch.cross(v[f[:, 1]], v[f[:, 2]], dim=-1)).sum() / 6.0)


def positional_encoding(x: torch.Tensor, n_freq: int) -> torch.Tensor:
    """(M, D) in about [-1, 1] -> (M, D (1 + 2 n_freq)): x, sin(2^l π x), cos(2^l π x)."""
    out = [x]
    for l in range(n_freq):
        out += [torch.sin((2.0**l) * math.pi * x), torch.cos((2.0**l) * math.pi * x)]
    return torch.cat(out, dim=-1)


class ColorNet(nn.Module):
    """Pose- and view-conditioned colour residual (logit space), zero at initialisation.

    Args:
        pose_dim: size of the pose code (63: 21 SMPL-X body joints × 3).
        hidden: width of the two hidden layers.
        n_freq: positional-encoding frequencies of the rest position.
    """

    def __init__(self, pose_dim: int = 63, hidden: int = 32, n_freq: int = 4) -> None:
        super().__init__()
        self.n_freq = n_freq
        in_dim = 3 * (1 + 2 * n_freq) + 3
        self.inp = nn.Linear(in_dim, hidden)
        self.pose = nn.Linear(pose_dim, hidden, bias=False)
        self.mid = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        nn.init.normal_(self.pose.weight, std=0.01)

    def forward(self, rest_pos: torch.Tensor, view_dirs: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """rest_pos: (M, 3) normalised rest positions; view_dirs: (M, 3) unit, body frame;
        pose: (P,) pose code -> (M, 3) colour logit residual."""
        h = self.inp(torch.cat([positional_encoding(rest_pos, self.n_freq), view_dirs], dim=-1))
        h = torch.relu(h + self.pose(pose)[None])
        h = torch.relu(self.mid(h))
        return self.out(h)

    def reset_output(self) -> None:
        """Zero the last layer (the residual vanishes; the base colours show as they are)."""
        with torch.no_grad():
            self.out.weight.zero_()
            self.out.bias.zero_()


class GaussianHuman(nn.Module):
    """Gaussians bound to a body model's triangles, with a fine-tunable colour model.

    Build with :meth:`from_body`. Parameters (``nn.Parameter``): ``base_color_logits`` (M, 3),
    ``opacity_logits`` (M,), ``local_log_scales`` (M, 3), the colour net. Buffers: ``face_idx``
    (M,), ``bary`` (M, 3), ``offset`` (M,), ``local_quats`` (M, 4) XYZW, ``rest_pos`` (M, 3),
    ``rest_area`` (F,).
    """

    def __init__(self, body_model: BodyModel, face_idx: torch.Tensor, bary: torch.Tensor, offset: torch.Tensor,
                 local_quats: torch.Tensor, local_log_scales: torch.Tensor, opacity_logits: torch.Tensor,
                 base_color_logits: torch.Tensor, rest_pos: torch.Tensor, rest_area: torch.Tensor,
                 normal_sign: float = 1.0, color_net: ColorNet | None = None, scale_with_area: bool = True) -> None:
        super().__init__()
        # Not a submodule: the body model's own parameters are not this avatar's to optimise.
        object.__setattr__(self, "body_model", body_model)
        self.register_buffer("face_idx", face_idx.long())
        self.register_buffer("bary", bary)
        self.register_buffer("offset", offset)
        self.register_buffer("local_quats", local_quats)
        self.register_buffer("rest_pos", rest_pos)
        self.register_buffer("rest_area", rest_area)
        self.local_log_scales = nn.Parameter(local_log_scales)
        self.opacity_logits = nn.Parameter(opacity_logits)
        self.base_color_logits = nn.Parameter(base_color_logits)
        self.color_net = color_net
        self.normal_sign = float(normal_sign)
        self.scale_with_area = scale_with_area

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def from_body(
        cls,
        body_model: BodyModel,
        spacing: float = 0.012,
        seed: int = 0,
        params: BodyParams | None = None,
        sigma_factor: float = 0.7,
        thickness: float | None = None,
        opacity: float = 0.98,
        color: tuple[float, float, float] = (0.6, 0.6, 0.6),
        color_net: bool = True,
        max_gaussians: int | None = None,
    ) -> GaussianHuman:
        """Sample Gaussians on the body surface (stratified, area-uniform) (in the pose ``params``, default the
        model's rest pose), flat discs in their triangles like
        :func:`~inhabit.scene.gaussians_mesh.gaussians_from_mesh`.

        Args:
            body_model: any :class:`BodyModel`.
            spacing: mean distance between Gaussians (metres); anny's ~1.9 m² gives ~13k at 1.2 cm.
            seed: sampling seed (same seed, same binding).
            params: the pose the binding is defined in (batch of 1).
            sigma_factor, thickness, opacity: disc size (fraction of spacing), normal std, opacity.
            color: initial RGB of every Gaussian.
            color_net: attach a :class:`ColorNet`.
            max_gaussians: cap on the count.
        """
        params = body_model.default_params(1) if params is None else params
        with torch.no_grad():
            out = body_model(params)
        verts = out.vertices[:1].detach()
        faces = out.faces.long()
        dtype, device = verts.dtype, verts.device
        frames, area = triangle_frames(verts, faces)
        area = area[0]
        total = float(area.sum())
        if total <= 0:
            raise InputError("the body mesh has no triangle with a positive area")
        n = math.ceil(total / spacing**2)
        if max_gaussians is not None and n > max_gaussians:
            n = int(max_gaussians)
            spacing = math.sqrt(total / n)
        from inhabit.scene.gaussians_mesh import sample_surface

        face_np, bary_np = sample_surface(area.double().cpu().numpy(), n, np.random.default_rng(seed))
        n = len(face_np)
        face_idx = torch.as_tensor(face_np, device=device)
        bary = torch.as_tensor(bary_np, dtype=dtype, device=device)
        sign = 1.0 if mesh_signed_volume(verts[0], faces) >= 0 else -1.0
        sigma = sigma_factor * spacing
        thick = max(1e-4, 0.05 * sigma) if thickness is None else float(thickness)
        local_quats = torch.zeros(n, 4, dtype=dtype, device=device)
        local_quats[:, 3] = 1.0
        log_scales = torch.log(torch.tensor([sigma, sigma, thick], dtype=dtype, device=device)).repeat(n, 1)
        op = torch.full((n,), float(np.clip(opacity, 1e-4, 1 - 1e-4)), dtype=dtype, device=device)
        col = torch.tensor(color, dtype=dtype, device=device).clamp(0.02, 0.98).repeat(n, 1)
        normals = sign * frames[:, face_idx, :, 2]
        rest = bind_points(verts, faces, face_idx, bary, torch.zeros(n, dtype=dtype, device=device), normals)[0]
        lo, hi = rest.min(0).values, rest.max(0).values
        rest_norm = 2.0 * (rest - 0.5 * (lo + hi)) / (hi - lo).max().clamp_min(1e-6)
        net = ColorNet().to(device=device, dtype=dtype) if color_net else None
        return cls(body_model, face_idx, bary, torch.zeros(n, dtype=dtype, device=device), local_quats, log_scales,
                   torch.logit(op), torch.logit(col), rest_norm, area.detach(), sign, net)

    def __len__(self) -> int:
        return int(self.face_idx.shape[0])

    # --- geometry -------------------------------------------------------------------------------

    def bind(self, verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gaussian geometry on posed vertices.

        Args:
            verts: (B, V, 3) posed vertices. faces: (F, 3).

        Returns:
            means (B, M, 3), rotation matrices (B, M, 3, 3) (world from Gaussian-local), log-scales
            (B, M, 3).
        """
        frames, area = triangle_frames(verts, faces, self.normal_sign)
        F = frames[:, self.face_idx]  # (B, M, 3, 3)
        means = bind_points(verts, faces, self.face_idx, self.bary, self.offset, F[..., 2])
        import roma

        Q = roma.unitquat_to_rotmat(self.local_quats / self.local_quats.norm(dim=-1, keepdim=True))
        R = F @ Q
        log_scales = self.local_log_scales.expand(verts.shape[0], -1, -1)
        if self.scale_with_area:
            stretch = 0.5 * torch.log(area[:, self.face_idx].clamp_min(1e-12) / self.rest_area[self.face_idx].clamp_min(1e-12))
            log_scales = log_scales + torch.stack([stretch, stretch, torch.zeros_like(stretch)], dim=-1)
        return means, R, log_scales

    def colors(self, params: BodyParams, means: torch.Tensor, camera_center: torch.Tensor | None) -> torch.Tensor:
        """(M, 3) RGB for the first batch row: base colour plus the colour net's pose/view residual.

        Args:
            params: body parameters (row 0 is used). means: (M, 3) posed centres.
            camera_center: (3,) world camera centre (None: the net sees a zero view direction).
        """
        logits = self.base_color_logits
        if self.color_net is not None:
            from inhabit.rotations import rotation6d_to_rotmat

            R_body = rotation6d_to_rotmat(params.global_orient[:1])[0]
            if camera_center is None:
                d_body = torch.zeros_like(means)
            else:
                d = means - camera_center.to(means)
                d_body = (d / d.norm(dim=-1, keepdim=True).clamp_min(1e-9)) @ R_body
            pose = self.body_model.body_pose_to_smplx_rotvec(params.body_pose[:1]).reshape(-1).to(means)
            logits = logits + self.color_net(self.rest_pos, d_body, pose)
        return torch.sigmoid(logits)

    def forward(self, params: BodyParams, camera_center: torch.Tensor | None = None,
                body_out: BodyOutput | None = None) -> GaussianSet:
        """The posed Gaussians (world frame) for one body (``params`` batch of 1).

        Args:
            params: body parameters (gradients flow to every field).
            camera_center: (3,) world position of the camera, for the view-dependent colour.
            body_out: the body model's output for ``params`` if already computed.
        """
        import roma

        if params.batch_size != 1:
            raise InputError(f"GaussianHuman renders one body at a time; got a batch of {params.batch_size}")
        out = self.body_model(params) if body_out is None else body_out
        means, R, log_scales = self.bind(out.vertices, out.faces.long())
        quats = roma.rotmat_to_unitquat(R[0])
        rgb = self.colors(params, means[0], camera_center)
        return GaussianSet(means[0], quats, log_scales[0], self.opacity_logits, rgb)

    def gaussians(self, params: BodyParams, camera_center: torch.Tensor | None = None,
                  body_out: BodyOutput | None = None) -> GaussianSet:
        """Alias of :meth:`forward`."""
        return self.forward(params, camera_center, body_out)

    def color_parameters(self, include_base: bool = False) -> list[nn.Parameter]:
        """What appearance fine-tuning optimises: the colour net (and the base colours if asked)."""
        ps = list(self.color_net.parameters()) if self.color_net is not None else []
        return ps + ([self.base_color_logits] if include_base else [])

    # --- appearance from a frame ----------------------------------------------------------------

    @torch.no_grad()
    def init_appearance_from_image(
        self,
        image: np.ndarray | torch.Tensor,
        camera,
        params: BodyParams,
        mask: np.ndarray | torch.Tensor | None = None,
        T_cam_world: torch.Tensor | None = None,
        depth_tolerance: float = 0.03,
        k_neighbours: int = 8,
        default_color: tuple[float, float, float] | None = None,
    ) -> dict[str, int]:
        """Set the base colours from a frame that shows this body in pose ``params``.

        A Gaussian is *visible* when it projects inside the image (and inside ``mask``), its
        triangle faces the camera, and its depth is within ``depth_tolerance`` of the nearest
        Gaussian centre projected into the surrounding 3×3 pixels (a point z-buffer); visible ones
        take the image's bilinear colour at their centre. Hidden ones are filled by propagation
        over the ``k_neighbours``-nearest-neighbour graph of the *rest* pose: front by front, a
        hidden Gaussian next to coloured ones takes their mean, so colour flows along the body
        (the back of a sleeve gets the sleeve's colour) rather than across it. Gaussians with no
        path to a visible one get ``default_color`` (default: the median visible colour). The
        colour net's output layer is reset to zero.

        Args:
            image: (H, W, 3) uint8 or float in [0, 1], the camera's size.
            camera: :class:`~inhabit.camera.pinhole.Camera`.
            params: body parameters of the frame (batch of 1).
            mask: (H, W) person mask (> 0.5 = person), optional.
            T_cam_world: (4, 4) overriding the camera's pose.

        Returns:
            ``{"visible": ..., "from_neighbours": ..., "default": ...}`` Gaussian counts.

        Raises:
            InputError: image size differs from the camera's, or no Gaussian is visible.
        """
        from scipy.spatial import cKDTree

        from inhabit.camera.pinhole import project_points

        img = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
        if img.dtype == torch.uint8:
            img = img.float() / 255.0
        img = img.to(self.bary)
        H, W = int(camera.height), int(camera.width)
        if tuple(img.shape) != (H, W, 3):
            raise InputError(f"the appearance frame must be ({H}, {W}, 3) like its camera, got {tuple(img.shape)}")
        kw = {"dtype": self.bary.dtype, "device": self.bary.device}
        K = torch.as_tensor(np.asarray(camera.K), **kw)
        T = torch.as_tensor(np.asarray(camera.T_cam_world), **kw) if T_cam_world is None else T_cam_world.to(**kw)
        out = self.body_model(params)
        means, R, _ = self.bind(out.vertices, out.faces.long())
        means, normals = means[0], R[0, :, :, 2]
        uv, z = project_points(means, K, T)
        cam_c = -(T[:3, :3].T @ T[:3, 3])
        facing = ((cam_c - means) * normals).sum(-1) > 0
        col = torch.floor(uv[:, 0]).long()
        row = torch.floor(uv[:, 1]).long()
        inside = (z > 1e-6) & (col >= 0) & (col < W) & (row >= 0) & (row < H)
        if mask is not None:
            m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).to(**kw)
            if tuple(m.shape) != (H, W):
                raise InputError(f"the appearance mask must be ({H}, {W}), got {tuple(m.shape)}")
            inside = inside & (m[row.clamp(0, H - 1), col.clamp(0, W - 1)] > 0.5)
        zbuf = torch.full((H * W,), float("inf"), **kw)
        flat = (row.clamp(0, H - 1) * W + col.clamp(0, W - 1))
        cand = inside & facing
        zbuf.scatter_reduce_(0, flat[cand], z[cand], reduce="amin")
        zmin = -torch.nn.functional.max_pool2d(-zbuf.reshape(1, 1, H, W), 3, stride=1, padding=1).reshape(-1)
        visible = cand & (z <= zmin[flat] + depth_tolerance)
        n_vis = int(visible.sum())
        if n_vis == 0:
            raise InputError("no Gaussian of the human is visible in the appearance frame (check the camera, "
                             "the pose and the mask)")
        g = torch.stack([2 * uv[visible, 0] / W - 1, 2 * uv[visible, 1] / H - 1], dim=-1)
        sampled = torch.nn.functional.grid_sample(img.permute(2, 0, 1)[None], g[None, None], mode="bilinear",
                                                  padding_mode="border", align_corners=False)[0, :, 0].T
        colors = torch.zeros(len(self), 3, **kw)
        colors[visible] = sampled
        known = visible.clone()
        tree = cKDTree(self.rest_pos.cpu().numpy())
        _, nbr = tree.query(self.rest_pos.cpu().numpy(), k=min(k_neighbours + 1, len(self)))
        nbr = torch.as_tensor(np.asarray(nbr).reshape(len(self), -1)[:, 1:], device=kw["device"])
        while True:
            nk = known[nbr].to(colors.dtype)  # (M, k): which neighbours are coloured
            cnt = nk.sum(1)
            front = ~known & (cnt > 0)
            if not bool(front.any()):
                break
            mean = (colors[nbr] * nk[..., None]).sum(1) / cnt.clamp_min(1)[:, None]
            colors[front] = mean[front]
            known |= front
        n_def = int((~known).sum())
        fallback = (torch.tensor(default_color, **kw) if default_color is not None
                    else sampled.median(dim=0).values)
        colors[~known] = fallback
        n_nb = len(self) - n_vis - n_def
        self.base_color_logits.copy_(torch.logit(colors.clamp(0.02, 0.98)))
        if self.color_net is not None:
            self.color_net.reset_output()
        return {"visible": n_vis, "from_neighbours": n_nb, "default": n_def}
