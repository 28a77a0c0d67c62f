"""EWA projection of 3D Gaussians into an OpenCV pinhole camera (pure, differentiable torch).

For a Gaussian with world covariance ``Σ = R S Sᵀ Rᵀ`` seen by a camera ``T_cam_world = [W | t]``
the camera-frame covariance is ``W Σ Wᵀ`` and its image is approximated by the local affine map of
the perspective projection (Zwicker et al.'s EWA splatting, as in 3DGS):

    J = [[fx/z, 0, -fx·x/z²], [0, fy/z, -fy·y/z²]],   Σ₂ = J W Σ Wᵀ Jᵀ + eps2d · I

``eps2d = 0.3`` px² is the screen-space low-pass filter of 3DGS (each splat covers at least about
one pixel). As in 3DGS/gsplat, ``x/z`` and ``y/z`` inside ``J`` are clamped to 1.3× the field of
view (plus the principal point offset), which keeps ``J`` bounded for Gaussians near the image
border; the clamp has zero gradient where it bites. The pixel centre of column j is at j + 0.5.

Culling (exact with respect to the compositor's rules, so it never changes an image):
``near < z < far``; opacity ≥ ``alpha_min`` (a Gaussian that can never reach 1/255 is invisible);
the bounding box of the ellipse beyond which ``opacity · exp(-½ dᵀΣ₂⁻¹d) < alpha_min`` must
overlap the image. Its half-widths are ``r·sqrt(Σ₂[0,0])`` and ``r·sqrt(Σ₂[1,1])`` with
``r = sqrt(2 ln(opacity / alpha_min))`` (at most 3.33 σ), the opacity-aware bound gsplat uses.

K's skew ``K[0, 1]`` is ignored (pinhole cameras in inhabit have none).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Projected:
    """The Gaussians that survived culling, projected (rows follow ``ids``).

    Attributes:
        ids: (M,) long indices into the input set.
        means2d: (M, 2) pixel centres (x right, y down).
        conics: (M, 3) ``(a, b, c)`` of the inverse 2D covariance ``[[a, b], [b, c]]``.
        depths: (M,) camera-frame z of the centres (metres).
        opacities: (M,) in (0, 1).
        extent: (M, 2) half-widths (px) of the bounding box where alpha can exceed ``alpha_min``;
            not differentiable (used for binning only).
        cov2d: (M, 3) ``(Σxx, Σxy, Σyy)`` of the filtered 2D covariance.
    """

    ids: torch.Tensor
    means2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    opacities: torch.Tensor
    extent: torch.Tensor
    cov2d: torch.Tensor


def quat_scale_to_cov_factor(quats: torch.Tensor, log_scales: torch.Tensor) -> torch.Tensor:
    """(N, 4) XYZW quaternions (any norm) and (N, 3) log-scales -> (N, 3, 3) ``M = R diag(s)``,
    so that the covariance is ``M Mᵀ``."""
    import roma

    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return roma.unitquat_to_rotmat(q) * torch.exp(log_scales)[:, None, :]


def project_gaussians(
    means: torch.Tensor,
    quats: torch.Tensor,
    log_scales: torch.Tensor,
    opacities: torch.Tensor,
    K: torch.Tensor,
    T_cam_world: torch.Tensor,
    width: int,
    height: int,
    near: float = 0.01,
    far: float = 1e4,
    eps2d: float = 0.3,
    alpha_min: float = 1.0 / 255.0,
) -> Projected:
    """Project and cull Gaussians (differentiable w.r.t. every tensor, ``T_cam_world`` included).

    Args:
        means: (N, 3) world centres. quats: (N, 4) XYZW. log_scales: (N, 3).
        opacities: (N,) post-sigmoid opacities.
        K: (3, 3) intrinsics (pixels). T_cam_world: (4, 4) world -> camera (OpenCV).
        width, height: image size (px).
        near, far: clipping distances along camera z (metres).
        eps2d: screen-space low-pass added to the 2D covariance (px²).
        alpha_min: the compositor's skip threshold (for the exact culling bound).

    Returns:
        :class:`Projected` for the M surviving Gaussians.
    """
    Rcw, tcw = T_cam_world[:3, :3], T_cam_world[:3, 3]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]

    with torch.no_grad():
        z_all = means.detach() @ Rcw.detach()[2] + tcw.detach()[2]
        keep = (z_all > near) & (z_all < far) & (opacities.detach() >= alpha_min)
        ids = torch.nonzero(keep).squeeze(1)

    p = means[ids] @ Rcw.T + tcw
    x, y, z = p.unbind(-1)
    M_cam = Rcw @ quat_scale_to_cov_factor(quats[ids], log_scales[ids])  # (M, 3, 3)

    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    lim_x_pos, lim_x_neg = (width - cx) / fx + 0.3 * tan_x, cx / fx + 0.3 * tan_x
    lim_y_pos, lim_y_neg = (height - cy) / fy + 0.3 * tan_y, cy / fy + 0.3 * tan_y
    xc = z * torch.minimum(torch.maximum(x / z, -lim_x_neg), lim_x_pos)
    yc = z * torch.minimum(torch.maximum(y / z, -lim_y_neg), lim_y_pos)
    zero = torch.zeros_like(z)
    J = torch.stack([
        torch.stack([fx / z, zero, -fx * xc / (z * z)], dim=-1),
        torch.stack([zero, fy / z, -fy * yc / (z * z)], dim=-1),
    ], dim=-2)  # (M, 2, 3)
    JM = J @ M_cam  # (M, 2, 3)
    cov = JM @ JM.transpose(-1, -2)
    sxx = cov[:, 0, 0] + eps2d
    sxy = cov[:, 0, 1]
    syy = cov[:, 1, 1] + eps2d
    det = sxx * syy - sxy * sxy
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)
    opac = opacities[ids]

    with torch.no_grad():
        r = torch.sqrt(2.0 * torch.log((opac / alpha_min).clamp_min(1.0)))
        ext = torch.stack([r * sxx.clamp_min(0).sqrt(), r * syy.clamp_min(0).sqrt()], dim=-1)
        m2 = means2d.detach()
        on_screen = ((m2[:, 0] + ext[:, 0] > 0) & (m2[:, 0] - ext[:, 0] < width)
                     & (m2[:, 1] + ext[:, 1] > 0) & (m2[:, 1] - ext[:, 1] < height))
        ok = on_screen & (det > 0) & torch.isfinite(m2).all(dim=-1)
        sel = torch.nonzero(ok).squeeze(1)

    det = det[sel]
    conics = torch.stack([syy[sel] / det, -sxy[sel] / det, sxx[sel] / det], dim=-1)
    return Projected(
        ids=ids[sel],
        means2d=means2d[sel],
        conics=conics,
        depths=z[sel],
        opacities=opac[sel],
        extent=ext[sel],
        cov2d=torch.stack([sxx[sel], sxy[sel], syy[sel]], dim=-1),
    )


def camera_center(T_cam_world: torch.Tensor) -> torch.Tensor:
    """(4, 4) -> (3,) the camera centre in the world, ``-Rᵀ t`` (differentiable)."""
    return -(T_cam_world[:3, :3].T @ T_cam_world[:3, 3])

