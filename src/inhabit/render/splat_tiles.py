"""Tile binning: which projected Gaussians touch which 16×16 tile, front to back.

The image is cut into ``tiles_x × tiles_y`` tiles (row-major ids ``ty · tiles_x + tx``). Every
Gaussian is listed in each tile its bounding box overlaps (a sparse list of (tile, Gaussian) pairs,
no dense padding), and within a tile the list is sorted by the Gaussian's centre depth, nearest
first: the global depth order of 3DGS, not a per-pixel sort. The list is built with one stable sort
of the Gaussians by depth and one stable sort of the pairs by tile id, so ties keep input order and
the result is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TileBins:
    """Sparse (tile, Gaussian) pairs.

    Attributes:
        offsets: (n_tiles + 1,) int32; tile t owns ``ids[offsets[t]:offsets[t+1]]``.
        ids: (P,) int32 rows of the projected Gaussians, front to back inside each tile.
        tiles_x, tiles_y, tile: the tiling.
    """

    offsets: torch.Tensor
    ids: torch.Tensor
    tiles_x: int
    tiles_y: int
    tile: int

    @property
    def n_tiles(self) -> int:
        return self.tiles_x * self.tiles_y

    @property
    def n_pairs(self) -> int:
        return int(self.ids.shape[0])

    def counts(self) -> torch.Tensor:
        """(n_tiles,) number of Gaussians listed per tile."""
        return (self.offsets[1:] - self.offsets[:-1]).long()


def tile_ranges(means2d: torch.Tensor, extent: torch.Tensor, width: int, height: int,
                tile: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inclusive tile index ranges ``(x0, x1, y0, y1)``, each (M,) long, of every Gaussian's box.

    A pixel centre at ``j + 0.5`` is evaluated when it lies inside ``[m - e, m + e]``; the tile
    range is conservative (it may include a tile whose centres all fall just outside the box).
    """
    tiles_x, tiles_y = (width + tile - 1) // tile, (height + tile - 1) // tile
    m = means2d.detach()
    x0 = torch.floor((m[:, 0] - extent[:, 0]) / tile).long().clamp(0, tiles_x - 1)
    x1 = torch.floor((m[:, 0] + extent[:, 0]) / tile).long().clamp(0, tiles_x - 1)
    y0 = torch.floor((m[:, 1] - extent[:, 1]) / tile).long().clamp(0, tiles_y - 1)
    y1 = torch.floor((m[:, 1] + extent[:, 1]) / tile).long().clamp(0, tiles_y - 1)
    return x0, x1, y0, y1


def bin_gaussians(means2d: torch.Tensor, extent: torch.Tensor, depths: torch.Tensor, width: int, height: int,
                  tile: int = 16) -> TileBins:
    """List every (tile, Gaussian) pair, depth-sorted within tiles.

    Args:
        means2d: (M, 2) pixel centres. extent: (M, 2) box half-widths (px). depths: (M,) camera z.
        width, height: image size. tile: tile side (px).

    Returns:
        :class:`TileBins`. Not differentiable (indices only).
    """
    tiles_x, tiles_y = (width + tile - 1) // tile, (height + tile - 1) // tile
    n_tiles = tiles_x * tiles_y
    dev = means2d.device
    if means2d.shape[0] == 0:
        return TileBins(torch.zeros(n_tiles + 1, dtype=torch.int32, device=dev),
                        torch.zeros(0, dtype=torch.int32, device=dev), tiles_x, tiles_y, tile)
    with torch.no_grad():
        x0, x1, y0, y1 = tile_ranges(means2d, extent, width, height, tile)
        order = torch.argsort(depths.detach(), stable=True)
        wx = (x1 - x0 + 1)[order]
        cnt = wx * (y1 - y0 + 1)[order]
        total = int(cnt.sum())
        # pair -> its Gaussian (in depth order) and its rank inside that Gaussian's rectangle
        owner = torch.repeat_interleave(torch.arange(order.shape[0], device=dev), cnt)
        start = torch.cumsum(cnt, 0) - cnt
        k = torch.arange(total, device=dev) - start[owner]
        w = wx[owner]
        g = order[owner]
        tile_id = (y0[g] + torch.div(k, w, rounding_mode="floor")) * tiles_x + x0[g] + k % w
        tile_sorted, perm = torch.sort(tile_id, stable=True)
        ids = g[perm].to(torch.int32)
        counts = torch.bincount(tile_sorted, minlength=n_tiles)
        offsets = torch.zeros(n_tiles + 1, dtype=torch.int64, device=dev)
        offsets[1:] = torch.cumsum(counts, 0)
    return TileBins(offsets.to(torch.int32), ids, tiles_x, tiles_y, tile)


def tile_pixel_centres(tile_ids: torch.Tensor, tiles_x: int, tile: int, dtype: torch.dtype) -> torch.Tensor:
    """(T,) tile ids -> (T, tile², 2) pixel-centre coordinates (x, y) of their pixels, row-major."""
    ty = torch.div(tile_ids, tiles_x, rounding_mode="floor")
    tx = tile_ids % tiles_x
    r = torch.arange(tile, device=tile_ids.device)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    px = (tx[:, None] * tile + xx.reshape(-1)[None]).to(dtype) + 0.5
    py = (ty[:, None] * tile + yy.reshape(-1)[None]).to(dtype) + 0.5
    return torch.stack([px, py], dim=-1)
