"""The readable pure-PyTorch compositor (the reference every faster path is tested against).

Front-to-back alpha compositing of depth-sorted splats, the rules of 3DGS stated once:

* ``power = -½ (a dx² + c dy²) - b dx dy`` with ``d = mean2d - pixel_centre`` and the conic
  ``(a, b, c)``; a splat with ``power > 0`` (numerically non-PD conic) is skipped;
* ``alpha = min(alpha_max, opacity · exp(power))`` (``alpha_max = 0.99``), skipped when below
  ``alpha_min = 1/255`` (it then leaves the transmittance unchanged);
* early termination: the splat whose transmittance *after* it would fall below ``T_min = 1e-4``
  is not composited, nor is anything behind it;
* ``C = Σ_i α_i T_i f_i + T_final · background`` with ``T_i = Π_{j<i} (1 - α_j)``, and the
  output alpha is ``1 - T_final``.

Because transmittance only decreases, "not after termination" is a prefix mask on the
inclusive transmittance, so the sequential loop of the CUDA rasterisers becomes two cumulative
products over padded per-tile lists, with no Python loop over tiles or pixels. Tiles are processed
in chunks of similar list length (bounded memory); each chunk is recomputed during backward
(``torch.utils.checkpoint``) instead of keeping every (pixel, splat) intermediate alive.

:func:`composite_dense` is the same maths over all (pixel, splat) pairs with one global depth
sort — the oracle for the tiled version.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from inhabit.render.splat_tiles import TileBins, tile_pixel_centres


def splat_alpha(dx: torch.Tensor, dy: torch.Tensor, conic: torch.Tensor, opacity: torch.Tensor,
                alpha_min: float, alpha_max: float) -> torch.Tensor:
    """Alpha of splats at pixel offsets (broadcasting).

    Args:
        dx, dy: (..., L) ``mean2d - pixel`` offsets (px).
        conic: (..., L, 3) inverse-covariance entries ``(a, b, c)``.
        opacity: (..., L).

    Returns:
        (..., L) alpha, 0 where skipped (``power > 0`` or ``alpha < alpha_min``).
    """
    a, b, c = conic.unbind(-1)
    power = -0.5 * (a * dx * dx + c * dy * dy) - b * dx * dy
    alpha = torch.clamp(opacity * torch.exp(power), max=alpha_max)
    keep = (power <= 0) & (alpha >= alpha_min)
    return torch.where(keep, alpha, torch.zeros_like(alpha))


def composite_sorted(alpha: torch.Tensor, feats: torch.Tensor, background: torch.Tensor,
                     T_min: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite per-pixel splat lists that are already sorted front to back.

    Args:
        alpha: (..., P, L) alphas of L splats at P pixels (0 = skipped or padding).
        feats: (..., L, C) splat features.
        background: (C,) features behind everything.
        T_min: early-termination transmittance.

    Returns:
        out (..., P, C) and the final transmittance (..., P).
    """
    # Inclusive transmittance before termination; the prefix where it stays >= T_min is composited.
    with torch.no_grad():
        keep = torch.cumprod(1.0 - alpha.detach(), dim=-1) >= T_min
    alpha = alpha * keep
    T_incl = torch.cumprod(1.0 - alpha, dim=-1)
    T_excl = torch.cat([torch.ones_like(T_incl[..., :1]), T_incl[..., :-1]], dim=-1)
    weights = alpha * T_excl
    T_final = T_incl[..., -1] if alpha.shape[-1] > 0 else torch.ones_like(alpha[..., 0])
    out = weights @ feats + T_final[..., None] * background
    return out, T_final


def _tile_chunk(means2d, conics, opacities, feats, background, gid, valid, pix, alpha_min, alpha_max, T_min):
    # gid, valid: (T, L); pix: (T, P, 2)
    m = means2d[gid]  # (T, L, 2)
    dx = m[:, None, :, 0] - pix[:, :, None, 0]  # (T, P, L)
    dy = m[:, None, :, 1] - pix[:, :, None, 1]
    alpha = splat_alpha(dx, dy, conics[gid][:, None], opacities[gid][:, None], alpha_min, alpha_max)
    alpha = alpha * valid[:, None, :]
    return composite_sorted(alpha, feats[gid], background, T_min)


def composite_tiles(
    means2d: torch.Tensor,
    conics: torch.Tensor,
    opacities: torch.Tensor,
    feats: torch.Tensor,
    background: torch.Tensor,
    bins: TileBins,
    width: int,
    height: int,
    alpha_min: float = 1.0 / 255.0,
    alpha_max: float = 0.99,
    T_min: float = 1e-4,
    chunk_elems: int = 1 << 22,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tile-binned compositing in pure torch.

    Args:
        means2d: (M, 2); conics: (M, 3); opacities: (M,); feats: (M, C) — projected splats.
        background: (C,).
        bins: the (tile, splat) lists of :func:`~inhabit.render.splat_tiles.bin_gaussians`.
        width, height: image size.
        chunk_elems: bound on (tiles × pixels × list length) per chunk (memory ≈ 40 bytes each).

    Returns:
        image (H, W, C) and alpha (H, W); differentiable w.r.t. the four splat tensors and the
        background.
    """
    tile, tiles_x, tiles_y = bins.tile, bins.tiles_x, bins.tiles_y
    P = tile * tile
    C = feats.shape[1]
    dev, dt = means2d.device, means2d.dtype
    counts = bins.counts()
    offsets = bins.offsets.long()
    ids = bins.ids.long()
    order = torch.argsort(counts, descending=True)
    outs, Ts, done = [], [], []
    i = 0
    n_tiles = bins.n_tiles
    need_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (means2d, conics, opacities, feats, background))
    while i < n_tiles:
        L = int(counts[order[i]])
        if L == 0:
            break
        n = max(1, min(n_tiles - i, chunk_elems // (P * L)))
        tid = order[i:i + n]
        pos = torch.arange(L, device=dev)
        valid = pos[None] < counts[tid][:, None]
        gid = torch.where(valid, ids[(offsets[tid][:, None] + pos[None]).clamp_max(max(ids.shape[0] - 1, 0))],
                          torch.zeros_like(pos[None]))
        pix = tile_pixel_centres(tid, tiles_x, tile, dt)
        args = (means2d, conics, opacities, feats, background, gid, valid.to(dt), pix, alpha_min, alpha_max, T_min)
        out, T = checkpoint(_tile_chunk, *args, use_reentrant=False) if need_grad else _tile_chunk(*args)
        outs.append(out)
        Ts.append(T)
        done.append(tid)
        i += n
    if i < n_tiles:  # tiles with no splat show the background
        rest = order[i:]
        outs.append(background.expand(rest.shape[0], P, C))
        Ts.append(torch.ones(rest.shape[0], P, dtype=dt, device=dev))
        done.append(rest)
    out = torch.cat(outs)
    T = torch.cat(Ts)
    inv = torch.empty_like(order)
    inv[torch.cat(done)] = torch.arange(n_tiles, device=dev)
    out = out[inv].reshape(tiles_y, tiles_x, tile, tile, C).permute(0, 2, 1, 3, 4)
    T = T[inv].reshape(tiles_y, tiles_x, tile, tile).permute(0, 2, 1, 3)
    image = out.reshape(tiles_y * tile, tiles_x * tile, C)[:height, :width]
    T = T.reshape(tiles_y * tile, tiles_x * tile)[:height, :width]
    return image, 1.0 - T


def composite_dense(
    means2d: torch.Tensor,
    conics: torch.Tensor,
    opacities: torch.Tensor,
    feats: torch.Tensor,
    depths: torch.Tensor,
    background: torch.Tensor,
    width: int,
    height: int,
    alpha_min: float = 1.0 / 255.0,
    alpha_max: float = 0.99,
    T_min: float = 1e-4,
    chunk_elems: int = 1 << 22,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All (pixel, splat) pairs, one global depth sort: O(H·W·M). Same arguments and outputs as
    :func:`composite_tiles` (``depths``: (M,) sort keys). Only for tests and tiny images."""
    order = torch.argsort(depths.detach(), stable=True)
    m, con, op, f = means2d[order], conics[order], opacities[order], feats[order]
    ys, xs = torch.meshgrid(torch.arange(height, device=m.device), torch.arange(width, device=m.device),
                            indexing="ij")
    pix = torch.stack([xs, ys], dim=-1).reshape(-1, 2).to(m.dtype) + 0.5
    rows = max(1, chunk_elems // max(1, m.shape[0]))
    outs, Ts = [], []
    for s in range(0, pix.shape[0], rows):
        p = pix[s:s + rows]
        alpha = splat_alpha(m[None, :, 0] - p[:, None, 0], m[None, :, 1] - p[:, None, 1], con[None], op[None],
                            alpha_min, alpha_max)
        out, T = composite_sorted(alpha, f, background, T_min)
        outs.append(out)
        Ts.append(T)
    image = torch.cat(outs).reshape(height, width, -1)
    return image, 1.0 - torch.cat(Ts).reshape(height, width)
