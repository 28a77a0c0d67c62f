"""Real spherical harmonics for Gaussian colours: evaluation, RGB conversion, rotation.

The basis is the one of the 3D Gaussian splatting reference implementation (and gsplat), so
``.ply`` files from either render identically here: degree ``d`` has ``K = (d+1)²`` coefficients
per colour channel, ordered band by band (l = 0, 1, 2, 3; m = -l..l), and the colour seen along the
unit direction ``v`` (from the camera centre to the Gaussian) is ``max(0, 0.5 + Σ_k c_k Y_k(v))``.
The ``+0.5`` offset means an all-zero SH is mid grey, and ``rgb = 0.5 + C0 · dc``.
"""

from __future__ import annotations

import math

import torch

SH_C0 = 0.28209479177387814
"""Y_0^0 = 1 / (2 sqrt(pi))."""
SH_C1 = 0.4886025119029199
"""sqrt(3 / (4 pi)): the band-1 constant."""
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
SH_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)
MAX_SH_DEGREE = 3


def num_sh_bases(degree: int) -> int:
    """K = (degree + 1)² coefficients per channel."""
    return (degree + 1) ** 2


def sh_degree_from_bases(k: int) -> int:
    """Inverse of :func:`num_sh_bases`; ``ValueError`` when ``k`` is not a square in {1, 4, 9, 16}."""
    d = math.isqrt(k) - 1
    if d < 0 or (d + 1) ** 2 != k or d > MAX_SH_DEGREE:
        raise ValueError(f"{k} SH coefficients per channel is not (d+1)² for a degree d in 0..{MAX_SH_DEGREE}")
    return d


def sh_basis(dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """Real SH basis functions.

    Args:
        dirs: (..., 3) unit directions (not renormalised here).
        degree: 0..3.

    Returns:
        (..., (degree+1)²) the basis values ``Y_k(dirs)``.
    """
    if not 0 <= degree <= MAX_SH_DEGREE:
        raise ValueError(f"SH degree must be in 0..{MAX_SH_DEGREE}, got {degree}")
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out += [
            SH_C2[0] * xy,
            SH_C2[1] * yz,
            SH_C2[2] * (2.0 * zz - xx - yy),
            SH_C2[3] * xz,
            SH_C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            SH_C3[0] * y * (3.0 * xx - yy),
            SH_C3[1] * xy * z,
            SH_C3[2] * y * (4.0 * zz - xx - yy),
            SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
            SH_C3[4] * x * (4.0 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy),
            SH_C3[6] * x * (xx - 3.0 * yy),
        ]
    return torch.stack(out, dim=-1)


def eval_sh(sh: torch.Tensor, dirs: torch.Tensor, degree: int | None = None) -> torch.Tensor:
    """Colour of SH coefficients seen along directions.

    Args:
        sh: (N, K, 3) coefficients.
        dirs: (N, 3) directions from the camera centre to each Gaussian (any length > 0).
        degree: bands to use (default: all that ``K`` holds); higher coefficients are ignored.

    Returns:
        (N, 3) colour ``max(0, 0.5 + Σ c_k Y_k)``. The clamp has zero gradient where it bites.
    """
    deg = sh_degree_from_bases(sh.shape[-2]) if degree is None else degree
    k = num_sh_bases(deg)
    d = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    basis = sh_basis(d, deg)  # (N, k)
    rgb = torch.einsum("nk,nkc->nc", basis, sh[:, :k])
    return torch.clamp_min(rgb + 0.5, 0.0)


def rgb_to_sh(rgb: torch.Tensor, degree: int = 0) -> torch.Tensor:
    """(N, 3) colours in [0, 1] -> (N, (degree+1)², 3) view-independent SH (higher bands zero)."""
    sh = torch.zeros(rgb.shape[0], num_sh_bases(degree), 3, dtype=rgb.dtype, device=rgb.device)
    sh[:, 0] = (rgb - 0.5) / SH_C0
    return sh


def sh_to_rgb(sh: torch.Tensor) -> torch.Tensor:
    """(N, K, 3) -> (N, 3) the view-independent (degree-0) colour, unclamped."""
    return sh[:, 0] * SH_C0 + 0.5


def _fibonacci_dirs(n: int, dtype: torch.dtype) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64) + 0.5
    z = 1.0 - 2.0 * i / n
    r = torch.sqrt(1.0 - z * z)
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], dim=-1).to(dtype)


_SAMPLE_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _band_samples(l: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed sample directions (S, 3) and pinv of the band-l basis at them ((2l+1), S)."""
    key = (l, dtype, str(device))
    if key not in _SAMPLE_CACHE:
        dirs = _fibonacci_dirs(32, torch.float64)
        lo, hi = l * l, (l + 1) ** 2
        A = sh_basis(dirs, l)[:, lo:hi]
        _SAMPLE_CACHE[key] = (dirs.to(dtype=dtype, device=device), torch.linalg.pinv(A).to(dtype=dtype, device=device))
    return _SAMPLE_CACHE[key]


def sh_rotation_matrices(R: torch.Tensor, degree: int) -> list[torch.Tensor]:
    """Per-band matrices that rotate SH coefficients with the Gaussians.

    After the Gaussians are rotated by ``R`` (world = R · local), the colour seen along ``d`` must
    equal the old colour seen along ``Rᵀ d``. Band l is closed under rotation, so its new
    coefficients are ``D_l c`` with ``D_l = pinv(Y_l(S)) · Y_l(S R)`` for any set ``S`` of more
    than 2l+1 generic unit directions (rows). This is exact (up to float rounding) and
    differentiable in ``R``, with no Wigner-D recurrences to get wrong.

    Args:
        R: (3, 3) rotation.
        degree: highest band.

    Returns:
        ``[D_1, ..., D_degree]``, ``D_l`` of shape (2l+1, 2l+1). Band 0 is invariant.
    """
    out = []
    for l in range(1, degree + 1):
        dirs, pinv_A = _band_samples(l, R.dtype, R.device)
        lo, hi = l * l, (l + 1) ** 2
        B = sh_basis(dirs @ R, l)[:, lo:hi]  # rows: Y_l(Rᵀ d_s)
        out.append(pinv_A @ B)
    return out


def rotate_sh(sh: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Rotate SH coefficients (N, K, 3) of Gaussians rotated by ``R`` (3, 3); band 0 unchanged."""
    deg = sh_degree_from_bases(sh.shape[-2])
    if deg == 0:
        return sh
    parts = [sh[:, :1]]
    for l, D in enumerate(sh_rotation_matrices(R, deg), start=1):
        lo, hi = l * l, (l + 1) ** 2
        parts.append(torch.einsum("ij,njc->nic", D, sh[:, lo:hi]))
    return torch.cat(parts, dim=1)
