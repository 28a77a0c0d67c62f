"""Recording cross-attention maps of a diffusers UNet, without changing what it computes.

:class:`RecordingAttnProcessor` wraps the processor a cross-attention layer already has (usually
diffusers' ``AttnProcessor2_0``): the output is the wrapped processor's, unchanged, and *beside* it
the softmax(QKᵀ·scale) probabilities are recomputed with the layer's own public helpers
(``to_q``, ``to_k``, ``head_to_batch_dim``, ``get_attention_scores``), only when a recording is
active, only for the text-conditioned half of a classifier-free-guidance batch and only for layers
whose query grid is the one asked for (16×16 for 512-px SD-2 images, as GenZI). Installed with
``unet.set_attn_processor`` (:func:`install_recorder`) and removable again.

The :class:`CrossAttentionRecorder` averages what one UNet forward produced over heads and layers:
``A_t`` of shape (B, h, w, L), L = text length (77 for CLIP), each map summing to 1 over L.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator

import torch

PROCESSOR_SUFFIX = ".processor"


class CrossAttentionRecorder:
    """Accumulates cross-attention probabilities of the current UNet forward pass.

    ``start(num_images, grid)`` arms it for a pipeline call with ``num_images`` images (the
    conditional rows of the batch) and the attention grid ``(h, w)`` to keep; after each UNet
    forward, :meth:`pop_step` returns the mean over heads and layers and resets.
    """

    def __init__(self) -> None:
        self.active = False
        self.num_images = 0
        self.grid: tuple[int, int] | None = None
        self.seen_query_lengths: set[int] = set()
        """Query lengths of every cross-attention layer called while active (for error messages)."""
        self.recorded_layers: set[str] = set()
        self._sum: torch.Tensor | None = None
        self._count = 0

    def start(self, num_images: int, grid: tuple[int, int]) -> None:
        self.active = True
        self.num_images = int(num_images)
        self.grid = (int(grid[0]), int(grid[1]))
        self.seen_query_lengths.clear()
        self.recorded_layers.clear()
        self._sum, self._count = None, 0

    def stop(self) -> None:
        self.active = False
        self._sum, self._count = None, 0

    @property
    def query_length(self) -> int:
        assert self.grid is not None
        return self.grid[0] * self.grid[1]

    def conditional_rows(self, batch: int) -> slice | None:
        """Rows of a UNet batch holding the text-conditioned images (the second half under CFG)."""
        n = self.num_images
        if n <= 0 or batch % n != 0:
            return None
        return slice(batch - n, batch)

    def add(self, name: str, probs: torch.Tensor) -> None:
        """Add one layer's probabilities.

        Args:
            probs: (B, heads, Q, L) attention probabilities of the conditional rows.
        """
        summed = probs.float().sum(dim=1)  # over heads: the final mean weighs every head equally
        if self._sum is None:
            self._sum = summed
        else:
            self._sum = self._sum + summed
        self._count += probs.shape[1]
        self.recorded_layers.add(name)

    def pop_step(self) -> torch.Tensor | None:
        """Mean map of the forward pass just run, (B, h, w, L) float32, or None if nothing matched."""
        if self._sum is None:
            return None
        assert self.grid is not None
        out = (self._sum / self._count).reshape(self._sum.shape[0], self.grid[0], self.grid[1], -1)
        self._sum, self._count = None, 0
        return out


class RecordingAttnProcessor:
    """Wraps a cross-attention processor; computes exactly its output and records probabilities."""

    def __init__(self, inner, recorder: CrossAttentionRecorder, name: str) -> None:
        self.inner = inner
        self.recorder = recorder
        self.name = name
        params = inspect.signature(inner.__call__).parameters
        self._inner_takes_temb = "temb" in params
        self._inner_kwargs = {k for k, p in params.items() if p.kind is not p.VAR_KEYWORD}

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 scale: float | None = None) -> torch.Tensor:
        rec = self.recorder
        if rec.active and encoder_hidden_states is not None:
            self._record(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        kwargs = {"encoder_hidden_states": encoder_hidden_states, "attention_mask": attention_mask}
        if self._inner_takes_temb:
            kwargs["temb"] = temb
        if scale is not None and "scale" in self._inner_kwargs:
            kwargs["scale"] = scale
        return self.inner(attn, hidden_states, **kwargs)

    @torch.no_grad()
    def _record(self, attn, hidden_states, encoder_hidden_states, attention_mask, temb) -> None:
        rec = self.recorder
        x = hidden_states
        if attn.spatial_norm is not None:
            x = attn.spatial_norm(x, temb)
        if x.ndim == 4:
            b, c, h, w = x.shape
            x = x.view(b, c, h * w).transpose(1, 2)
        rec.seen_query_lengths.add(int(x.shape[1]))
        if x.shape[1] != rec.query_length:
            return
        rows = rec.conditional_rows(x.shape[0])
        if rows is None:
            return
        x = x[rows]
        ctx = encoder_hidden_states[rows]
        if attn.group_norm is not None:
            x = attn.group_norm(x.transpose(1, 2)).transpose(1, 2)
        if attn.norm_cross:
            ctx = attn.norm_encoder_hidden_states(ctx)
        q = attn.head_to_batch_dim(attn.to_q(x), out_dim=4)  # (B, heads, Q, d)
        k = attn.head_to_batch_dim(attn.to_k(ctx), out_dim=4)  # (B, heads, L, d)
        if getattr(attn, "norm_q", None) is not None:
            q = attn.norm_q(q)
        if getattr(attn, "norm_k", None) is not None:
            k = attn.norm_k(k)
        bsz, heads, nq, d = q.shape
        mask = None
        if attention_mask is not None:
            mask = attn.prepare_attention_mask(attention_mask[rows], k.shape[2], bsz)
        probs = attn.get_attention_scores(q.reshape(bsz * heads, nq, d), k.reshape(bsz * heads, -1, d), mask)
        rec.add(self.name, probs.reshape(bsz, heads, nq, -1))


def cross_attention_names(unet) -> list[str]:
    """Processor names (``...attn2.processor``) of the cross-attention layers of ``unet``."""
    names = []
    for name in unet.attn_processors:
        module = unet.get_submodule(name[: -len(PROCESSOR_SUFFIX)])
        if getattr(module, "is_cross_attention", False):
            names.append(name)
    return names


def install_recorder(unet, recorder: CrossAttentionRecorder) -> dict:
    """Wrap every cross-attention processor of ``unet``; returns the original processors.

    Already wrapped processors are re-wrapped around their inner processor (idempotent).
    """
    originals = dict(unet.attn_processors)
    cross = set(cross_attention_names(unet))
    procs = {}
    for name, proc in originals.items():
        if isinstance(proc, RecordingAttnProcessor):
            proc = proc.inner
            originals[name] = proc
        procs[name] = RecordingAttnProcessor(proc, recorder, name) if name in cross else proc
    unet.set_attn_processor(procs)
    return originals


def remove_recorder(unet, originals: dict) -> None:
    """Restore the processors returned by :func:`install_recorder`."""
    unet.set_attn_processor(dict(originals))


@contextlib.contextmanager
def recording(unet, recorder: CrossAttentionRecorder) -> Iterator[CrossAttentionRecorder]:
    """``with recording(unet, rec): ...`` installs the recorder and restores the processors after."""
    originals = install_recorder(unet, recorder)
    try:
        yield recorder
    finally:
        remove_recorder(unet, originals)


def attention_grid(height: int, width: int, latent_factor: int, attn_res: int | None) -> tuple[int, int]:
    """The (h, w) cross-attention grid whose maps define the mask.

    ``attn_res`` is the number of attention cells along the *shorter* image side (GenZI: 16 for a
    512-px image, i.e. one cell per 32 px); None picks one cell per 32 px for any size. The grid
    is a UNet level, so the latent side must be ``attn_res`` times a power of two.

    Raises:
        ValueError: when the sizes admit no such level (the caller turns it into an InputError).
    """
    lh, lw = height // latent_factor, width // latent_factor
    short_lat = min(lh, lw)
    if attn_res is None:
        attn_res = max(1, min(height, width) // 32)
    if attn_res <= 0 or short_lat % attn_res:
        raise ValueError(f"attn_res={attn_res} does not divide the latent side {short_lat}")
    down = short_lat // attn_res
    if down & (down - 1):
        raise ValueError(f"the latent side {short_lat} is not attn_res={attn_res} times a power of two")
    if lh % down or lw % down:
        raise ValueError(f"latent size {lh}x{lw} is not divisible by the level's downsampling {down}")
    return lh // down, lw // down
