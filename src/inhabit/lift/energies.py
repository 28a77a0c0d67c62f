"""The energy terms of GenZI's robust multi-view lifting, as pure functions of tensors.

Every function is batched over H hypotheses (the body model's batch axis) and returns one value
per hypothesis, so the fit can sum them: a hypothesis' gradient then depends on its own energy
only, and fitting H hypotheses together equals fitting each alone. Numbers and forms follow
``genzi_facts.md`` §6.3 (the authors' code) — the paper's eq. (6) differs and is not used.

Symbols: k views, J matched points, N body vertices, ``w`` view weights in [0, 1].
"""

from __future__ import annotations

import torch


def geman_mcclure(r: torch.Tensor, sigma: float) -> torch.Tensor:
    """Geman-McClure robust cost ρ(r) = σ² r² / (r² + σ²), elementwise.

    ρ grows like r² near 0 and saturates at σ² for |r| ≫ σ, so an outlier keypoint pulls with a
    force that vanishes as it gets further away. Its scale is σ²: a fit in pixels instead of
    normalised units must use σ·S and divide the energy by S² to keep the same weights.

    Args:
        r: (...) residuals (any shape), finite.
        sigma: the scale σ > 0 (GenZI: 0.2 in units of the image size).

    Returns:
        (...) same shape as ``r``.
    """
    r2 = r * r
    s2 = sigma * sigma
    return s2 * r2 / (r2 + s2)


def keypoint_costs(pred: torch.Tensor, obs: torch.Tensor, conf: torch.Tensor, sigma: float) -> torch.Tensor:
    """Confidence-weighted robust reprojection cost of every (hypothesis, view, point).

    c · Σ_{d∈{x,y}} ρ(obs_d − pred_d): ρ per coordinate, then summed, as GenZI does.

    Args:
        pred: (H, k, J, 2) projected body points, normalised image units (pixels ÷ image size).
        obs: (H, k, J, 2) detected points, same units.
        conf: (H, k, J) detector confidences (0 for missing points and masked views).

    Returns:
        (H, k, J).
    """
    return conf * geman_mcclure(obs - pred, sigma).sum(dim=-1)


def group_sum(costs: torch.Tensor, group: torch.Tensor, num_groups: int) -> torch.Tensor:
    """Sum point costs per group (torso = 0, limb = 1).

    Args:
        costs: (H, k, J); group: (J,) long group index of each point.

    Returns:
        (H, k, G) with G = ``num_groups``.
    """
    out = costs.new_zeros(*costs.shape[:-1], num_groups)
    return out.index_add(-1, group, costs)


def view_weighted_mean(per_view: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Σ_v w_v L_v / Σ_v w_v over the view axis; the gradient reaches ``w`` through both sums.

    A view with w = 0 (masked out) contributes nothing. When every weight is 0 the result is 0
    (the denominator is clamped at 1e-12 and the numerator is 0 then).

    Args:
        per_view: (H, k) or (H, k, G) per-view energies.
        weights: (H, k) view weights.

    Returns:
        (H,) or (H, G).
    """
    w = weights if per_view.dim() == weights.dim() else weights.unsqueeze(-1)
    num = (w * per_view).sum(dim=1)
    den = w.sum(dim=1).clamp_min(1e-12)
    return num / den


def view_count_hinge(weights: torch.Tensor, num_views: torch.Tensor, tau: float = 3.0,
                     min_views: int = 3) -> torch.Tensor:
    """max(0, τ − Σ_v w_v): keeps at least τ views' worth of weight, so the 2D term cannot
    concentrate all weight on the one or two views it fits best.

    Applied only to hypotheses with at least ``min_views`` usable views (GenZI: m ≥ 3); others get 0.

    Args:
        weights: (H, k) view weights (0 for masked views).
        num_views: (H,) number of usable views per hypothesis.

    Returns:
        (H,).
    """
    e = torch.clamp(tau - weights.sum(dim=1), min=0.0)
    return torch.where(num_views >= min_views, e, torch.zeros_like(e))


def scene_penetration(sdf: torch.Tensor, threshold: float = 0.0, power: int = 1) -> torch.Tensor:
    """Mean penetration depth below the threshold: mean_{i: s_i < τ} |s_i − τ|^power, 0 when none.

    ``power = 1`` is GenZI's term: every penetrating vertex set pushes with the same total force
    (the weight), however shallow. ``power = 2`` (inhabit's quadratic option) pushes in proportion
    to the depth, so a millimetre of penetration does not outweigh the 2D evidence.

    Args:
        sdf: (H, N) scene signed distance of each body vertex (negative inside), metres.
        threshold: τ_s (GenZI: 0 for PROX-S, −0.01 m for Sketchfab, which tolerates 1 cm).
        power: 1 (metres) or 2 (square metres).

    Returns:
        (H,); NaN when any distance is NaN.
    """
    pen = sdf < threshold
    # relu (not a masked where) so that a NaN distance poisons the energy and the step is skipped
    # instead of the NaN vertex silently counting as "outside".
    depth = torch.relu(threshold - sdf)
    if power == 2:
        depth = depth * depth
    elif power != 1:
        raise ValueError(f"power must be 1 or 2, got {power}")
    count = pen.sum(dim=1)
    return depth.sum(dim=1) / count.clamp_min(1).to(sdf.dtype)


def scene_contact(sdf: torch.Tensor, threshold: float = 0.0, power: int = 1) -> torch.Tensor:
    """Contact pull: (min_i s_i − τ)^power when no vertex is below τ, else 0 (τ: the contact
    threshold, GenZI's penetration threshold unless configured otherwise).

    It moves the closest vertex onto the surface until something touches; once a vertex
    penetrates, the penetration term takes over. Its gradient reaches only the argmin vertex.
    With a grid SDF that clamps at its border, a body entirely outside the grid gets no pull.

    Args:
        sdf: (H, N) signed distances, metres; threshold: τ_s as in :func:`scene_penetration`.
        power: 1 (GenZI: a constant pull, whatever the gap) or 2 (a spring: pull ∝ gap).

    Returns:
        (H,), ≥ 0; NaN when any distance is NaN.
    """
    # min(s) − τ ≥ 0 exactly when nothing is below τ; relu keeps NaN visible (see scene_penetration).
    gap = torch.relu(sdf.min(dim=1).values - threshold)
    if power == 2:
        return gap * gap
    if power != 1:
        raise ValueError(f"power must be 1 or 2, got {power}")
    return gap


def beta_prior(shape: torch.Tensor, beta0_weight: float = 0.5) -> torch.Tensor:
    """GenZI's SMPL-X shape prior mean_i (α_i β_i)², α_0 = ``beta0_weight``, α_i = 1 otherwise.

    Used for the SMPL-X backend; other backends bring their own ``shape_prior``.

    Args:
        shape: (H, S) betas.

    Returns:
        (H,).
    """
    alpha = torch.ones(shape.shape[-1], dtype=shape.dtype, device=shape.device)
    alpha[0] = beta0_weight
    return ((alpha * shape) ** 2).mean(dim=-1)


def latent_l2(z: torch.Tensor) -> torch.Tensor:
    """VPoser-style latent prior mean(z²) over the latent dimensions.

    Args:
        z: (H, L).

    Returns:
        (H,).
    """
    return (z * z).mean(dim=-1)
