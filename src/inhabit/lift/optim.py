"""AdamW over a flat (H, D) parameter table whose rows (hypotheses) can skip a step.

GenZI runs five ``torch.optim.AdamW`` (translation, orientation, pose latent, shape, view logits)
and skips *every* update of an iteration whose gradients are not finite. inhabit fits H
hypotheses in one batch, so a skip must touch only the hypothesis that produced the non-finite
value — otherwise a batched fit would differ from H separate fits. This optimiser keeps one step
counter per row and, for a skipped row, leaves its parameters, moments and counter untouched.
With every row active it is PyTorch's AdamW (``foreach=False`` arithmetic, tested to 1e-6):

    θ ← θ (1 − lr·λ);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
    θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)

Learning rate and decay are per column (so the five groups share one update of ~10 tensor ops
per step instead of five optimisers). A column with lr 0 does not move, but its moments still
accumulate — exactly what PyTorch does for GenZI's frozen view logits in phase 0. A *frozen*
column (``frozen`` mask: held fixed, its gradient not even computed) keeps its moments and step
count too, so when it is released its bias correction starts afresh instead of a step count that
ran on while its moments stayed zero (which would make its first updates several times lr).
"""

from __future__ import annotations

import torch


class RowMaskedAdamW:
    """AdamW on ``param`` (H, D), a leaf tensor with ``requires_grad``.

    Args:
        param: (H, D) the parameter table (updated in place).
        betas, eps: Adam constants.
    """

    def __init__(self, param: torch.Tensor, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.param = param
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.steps = torch.zeros(param.shape, dtype=torch.float64, device=param.device)

    @torch.no_grad()
    def step(self, lr: torch.Tensor, weight_decay: torch.Tensor, active: torch.Tensor | None = None,
             frozen: torch.Tensor | None = None) -> None:
        """One update from ``param.grad``.

        Args:
            lr: (D,) learning rate per column.
            weight_decay: (D,) decoupled decay λ per column.
            active: (H,) bool, rows to update (None = all). Inactive rows keep parameters, moments
                and step counts; their gradient is ignored (it may be non-finite).
            frozen: (D,) bool, columns held fixed this step (None = none): like inactive rows.
        """
        p, g = self.param, self.param.grad
        if g is None:
            raise RuntimeError("RowMaskedAdamW.step called before backward()")
        H, D = p.shape
        a = torch.ones(H, 1, dtype=torch.bool, device=p.device) if active is None else active.view(H, 1)
        if frozen is not None:
            a = a & ~frozen.view(1, D)
        g = torch.where(a, g, torch.zeros_like(g))
        self.steps += a.to(self.steps.dtype)
        t = self.steps.clamp_min(1.0)
        bc1 = (1.0 - self.beta1**t).to(p.dtype)
        bc2_sqrt = (1.0 - self.beta2**t).sqrt().to(p.dtype)

        new_m = torch.lerp(self.exp_avg, g, 1.0 - self.beta1)
        new_v = self.exp_avg_sq * self.beta2 + (1.0 - self.beta2) * g * g
        decayed = p * (1.0 - lr * weight_decay)
        denom = new_v.sqrt() / bc2_sqrt + self.eps
        new_p = decayed - (lr / bc1) * new_m / denom

        self.exp_avg = torch.where(a, new_m, self.exp_avg)
        self.exp_avg_sq = torch.where(a, new_v, self.exp_avg_sq)
        p.copy_(torch.where(a, new_p, p))
