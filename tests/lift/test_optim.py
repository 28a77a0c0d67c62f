"""The row-masked AdamW equals PyTorch's AdamW, and a skipped row does not change at all."""

import torch

from inhabit.lift.optim import RowMaskedAdamW


def _grads(step: int, shape) -> torch.Tensor:
    g = torch.Generator().manual_seed(100 + step)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_matches_torch_adamw_with_per_column_lr_and_decay():
    torch.manual_seed(0)
    init = torch.randn(3, 5, dtype=torch.float64)
    lr = torch.tensor([0.01, 0.01, 0.02, 0.0, 0.05], dtype=torch.float64)
    wd = torch.tensor([0.01, 0.0, 0.01, 0.01, 0.01], dtype=torch.float64)
    ours = init.clone().requires_grad_(True)
    opt = RowMaskedAdamW(ours, (0.9, 0.999), 1e-8)
    # Reference: one torch AdamW per column (its own lr and decay).
    cols = [init[:, i:i + 1].clone().requires_grad_(True) for i in range(5)]
    refs = [torch.optim.AdamW([c], lr=float(lr[i]), betas=(0.9, 0.999), eps=1e-8, weight_decay=float(wd[i]),
                              foreach=False) for i, c in enumerate(cols)]
    for s in range(30):
        g = _grads(s, (3, 5))
        ours.grad = g.clone()
        opt.step(lr, wd)
        for i, (c, r) in enumerate(zip(cols, refs)):
            c.grad = g[:, i:i + 1].clone()
            r.step()
    ref = torch.cat([c.detach() for c in cols], dim=1)
    assert torch.allclose(ours.detach(), ref, atol=1e-12, rtol=1e-10)
    # lr 0 keeps the column fixed (GenZI's frozen view logits) while its moments accumulate.
    assert torch.equal(ours.detach()[:, 3], init[:, 3])
    assert opt.exp_avg[:, 3].abs().sum() > 0


def test_skipped_rows_keep_parameters_moments_and_step_count():
    init = torch.zeros(2, 3, dtype=torch.float64)
    lr = torch.full((3,), 0.1, dtype=torch.float64)
    wd = torch.full((3,), 0.01, dtype=torch.float64)
    batched = init.clone().requires_grad_(True)
    opt = RowMaskedAdamW(batched)
    single = init[1:].clone().requires_grad_(True)
    opt1 = RowMaskedAdamW(single)
    for s in range(6):
        g = _grads(s, (2, 3))
        skip_row0 = s in (2, 3)
        if skip_row0:
            g[0] = float("nan")
        batched.grad = g.clone()
        opt.step(lr, wd, torch.tensor([not skip_row0, True]))
        single.grad = g[1:].clone()
        opt1.step(lr, wd)
        assert torch.isfinite(batched).all()
    # Row 1 is unaffected by row 0's skips; row 0 made 4 updates.
    assert torch.allclose(batched.detach()[1:], single.detach(), atol=0, rtol=0)
    assert opt.steps[:, 0].tolist() == [4.0, 6.0]


def test_frozen_columns_restart_their_bias_correction():
    lr = torch.full((2,), 0.1, dtype=torch.float64)
    wd = torch.zeros(2, dtype=torch.float64)
    p = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    opt = RowMaskedAdamW(p)
    for s in range(5):
        p.grad = torch.ones(1, 2, dtype=torch.float64)
        opt.step(lr, wd, frozen=torch.tensor([False, s < 3]))
    # Column 1 was frozen for 3 steps: it moved exactly like a fresh Adam's first 2 steps (lr each).
    assert opt.steps.tolist() == [[5.0, 2.0]]
    assert torch.allclose(p.detach(), torch.tensor([[-0.5, -0.2]], dtype=torch.float64), atol=1e-6)
