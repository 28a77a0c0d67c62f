"""Tiny random generative models built from configs, fully offline: for tests and smoke runs.

These build the *real* code paths of :mod:`inhabit.imagine` with random weights, the way
diffusers tests its pipelines (tiny UNet/VAE/text encoder, 2 steps, CPU). Nothing is downloaded.
The preferred use saves a tiny model into a folder and points a config's ``model_id`` at it, so
the loading path is exercised too::

    from inhabit.imagine.testing import save_tiny_inpaint_pipeline, tiny_inpaint_config
    folder = save_tiny_inpaint_pipeline(tmp_path / "sd")
    inpainter = DiffusersInpainter(tiny_inpaint_config(folder, num_inference_steps=2))

Tokenizers:

* ``offline_clip_tokenizer("real")`` rebuilds OpenAI CLIP's 49,408-token BPE from the MIT-licensed
  vocabulary file that ships inside the ``open-clip-torch`` wheel, located *without importing*
  ``open_clip`` (its import needs torchvision). Ids match the hub's CLIP tokenizers.
* ``offline_clip_tokenizer("tiny")`` is a hand-made byte-level BPE (~1k tokens) whose merges spell
  a small word list; other words fall apart into characters. Fast and dependency-free.
* ``offline_t5_tokenizer()`` is a small SentencePiece-style unigram tokenizer for the T5 text
  encoders of the video pipelines.

Outputs of these models are noise: they test shapes, plumbing, masks and determinism, not quality.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Literal

CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
_CLIP_MERGE_COUNT = 49152 - 256 - 2  # the merges OpenAI CLIP uses from its vocabulary file

TINY_WORDS: tuple[str, ...] = (
    "a", "an", "the", "woman", "women", "man", "men", "person", "people", "boy", "girl", "lady", "guy",
    "child", "kid", "human", "someone", "sitting", "standing", "lying", "leaning", "walking", "on", "in",
    "at", "with", "of", "and", "to", "chair", "bench", "sofa", "bed", "table", "stairs", "bar", "wall",
    "wearing", "white", "shirt", "blue", "pants", "full", "body", "photo", "picture", "room", "garden",
    "watering", "flowers", "can", "is", "holding", "cup", "blurry", "low", "quality", "deformed",
    "extra", "limbs", "text", "watermark", "dance", "monkey", "negative",
)
"""The words the tiny CLIP tokenizer spells as single tokens."""


def _bytes_to_unicode() -> list[str]:
    """The printable stand-in character of each byte, in byte-level BPE's order (GPT-2/CLIP).

    Printable Latin-1 bytes keep their own character; the others (controls, space, ...) are mapped
    to code points from 256 upwards so every byte has a visible, non-whitespace symbol.
    """
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    order, chars, extra = list(keep), [chr(b) for b in keep], 0
    for b in range(256):
        if b not in keep:
            order.append(b)
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def clip_bpe_file() -> Path:
    """Path of OpenAI CLIP's BPE vocabulary file inside the installed ``open-clip-torch`` wheel.

    Raises:
        MissingWeightsError: when ``open-clip-torch`` is not installed.
    """
    from inhabit.errors import MissingWeightsError

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            "the offline CLIP tokenizer needs the BPE vocabulary from open-clip-torch, which is not installed; "
            "run `pip install --no-deps open-clip-torch==3.3.0` or use offline_clip_tokenizer('tiny')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    if not path.is_file():
        raise MissingWeightsError(f"the CLIP BPE vocabulary {path} is missing from the open-clip-torch install; "
                                  f"reinstall it with `pip install --no-deps --force-reinstall open-clip-torch`")
    return path


def _spelling_merges(words: tuple[str, ...]) -> list[tuple[str, str]]:
    """Merges that build each word left to right, its last character carrying the end marker."""
    merges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for word in words:
        symbols = [*word[:-1], word[-1] + "</w>"]
        while len(symbols) > 1:
            pair = (symbols[0], symbols[1])
            if pair not in seen:
                seen.add(pair)
                merges.append(pair)
            symbols = [symbols[0] + symbols[1], *symbols[2:]]
    return merges


def offline_clip_tokenizer(kind: Literal["real", "tiny"] = "real", model_max_length: int = 77):
    """A ``transformers.CLIPTokenizer`` built in memory (no files, no network).

    Args:
        kind: ``"real"`` = OpenAI CLIP's vocabulary (49,408 tokens, ids as on the hub);
            ``"tiny"`` = a byte-level BPE spelling :data:`TINY_WORDS` (~1k tokens).
    """
    from transformers import CLIPTokenizer

    base = _bytes_to_unicode()
    if kind == "real":
        lines = gzip.open(clip_bpe_file()).read().decode("utf-8").split("\n")
        # line 0 is a version header; CLIP keeps the first 48,894 merges
        merges = [tuple(line.split()) for line in lines[1: _CLIP_MERGE_COUNT + 1]]
    elif kind == "tiny":
        merges = _spelling_merges(TINY_WORDS)
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected 'real' or 'tiny'")
    vocab_list = base + [c + "</w>" for c in base] + ["".join(m) for m in merges] + [CLIP_BOS, CLIP_EOS]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(vocab_list))}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def offline_t5_tokenizer(model_max_length: int = 512):
    """A small SentencePiece-style (unigram) ``T5Tokenizer`` built in memory: letters + a few words."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -3.0)]
    pieces += [(c, -4.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'-"]
    pieces += [("▁" + w, -1.0) for w in TINY_WORDS]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=model_max_length)


# ----------------------------------------------------------------------------------------------
# inpainting


def _tiny_clip_text_config(tokenizer, hidden: int = 32, projection_dim: int = 32):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=projection_dim, hidden_act="gelu",
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _tiny_vae(seed: int):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(
        block_out_channels=(32, 64), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4, layers_per_block=1, norm_num_groups=32, sample_size=64,
    )


def _base_scheduler():
    from diffusers import DDIMScheduler

    # the layout of SD-2's own scheduler config; the inpainter swaps in DPM-Solver++ from it
    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                         set_alpha_to_one=False, steps_offset=1)


def tiny_inpaint_pipeline(seed: int = 0, variant: Literal["sd2", "sdxl"] = "sd2",
                          tokenizer: Literal["real", "tiny"] = "tiny"):
    """A random ``StableDiffusionInpaintPipeline`` (or the SDXL one) with a 9-channel tiny UNet.

    The VAE downsamples by 2, so a 64×64 image has a 32×32 latent and cross-attention at 16×16
    (use ``attn_res=16``). SD-2 flavour: linear projections, per-level head counts. The SDXL
    flavour has two text encoders (the second with projection) and text-time conditioning.
    """
    import torch
    from diffusers import (
        StableDiffusionInpaintPipeline,
        StableDiffusionXLInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tok = offline_clip_tokenizer(tokenizer)
    vae = _tiny_vae(seed)
    if variant == "sd2":
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=32, in_channels=9, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32, attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=32,
        )
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(_tiny_clip_text_config(tok))
        return StableDiffusionInpaintPipeline(
            vae=vae, text_encoder=text_encoder, tokenizer=tok, unet=unet, scheduler=_base_scheduler(),
            safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )
    if variant == "sdxl":
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=32, in_channels=9, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=32,
            addition_embed_type="text_time", addition_time_embed_dim=8,
            transformer_layers_per_block=(1, 1),
            projection_class_embeddings_input_dim=6 * 8 + 32,  # 6 time ids × 8 + pooled text (32)
            cross_attention_dim=64,  # both text encoders' hidden states side by side
        )
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(_tiny_clip_text_config(tok))
        torch.manual_seed(seed + 1)
        text_encoder_2 = CLIPTextModelWithProjection(_tiny_clip_text_config(tok))
        return StableDiffusionXLInpaintPipeline(
            vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tok,
            tokenizer_2=offline_clip_tokenizer(tokenizer), unet=unet, scheduler=_base_scheduler(),
            requires_aesthetics_score=False, force_zeros_for_empty_prompt=True,
        )
    raise ValueError(f"unknown variant {variant!r}; expected 'sd2' or 'sdxl'")


def save_tiny_inpaint_pipeline(folder: str | Path, seed: int = 0, variant: Literal["sd2", "sdxl"] = "sd2",
                               tokenizer: Literal["real", "tiny"] = "tiny") -> Path:
    """Save :func:`tiny_inpaint_pipeline` with ``save_pretrained`` into ``folder``; returns it."""
    folder = Path(folder)
    if not (folder / "model_index.json").is_file():
        tiny_inpaint_pipeline(seed, variant, tokenizer).save_pretrained(folder)
    return folder


def tiny_inpaint_config(model_dir: str | Path, **overrides):
    """An :class:`~inhabit.imagine.inpaint.InpaintConfig` for a tiny pipeline at 64 px on CPU.

    GenZI's numbers everywhere except the attention level (16×16 cells at 64 px for the tiny UNet),
    the device (CPU, fp32) and whatever ``overrides`` set (e.g. ``num_inference_steps=2``).
    """
    from inhabit.imagine.inpaint import InpaintConfig

    fields = {"model_id": str(model_dir), "attn_res": 16, "device": "cpu", "dtype": "fp32"}
    fields.update(overrides)
    return InpaintConfig(**fields)


# ----------------------------------------------------------------------------------------------
# CLIP scoring


def tiny_clip_model(seed: int = 0, tokenizer: Literal["real", "tiny"] = "tiny"):
    """(model, tokenizer, image_processor): a random ``CLIPModel`` for 32-px images."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    tok = offline_clip_tokenizer(tokenizer)
    text = _tiny_clip_text_config(tok).to_dict()
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
              "image_size": 32, "patch_size": 8, "num_channels": 3, "hidden_act": "gelu"}
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16))
    model.eval()
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return model, tok, processor


def save_tiny_clip_model(folder: str | Path, seed: int = 0, tokenizer: Literal["real", "tiny"] = "tiny") -> Path:
    """Save :func:`tiny_clip_model` (model, tokenizer, image processor) into one folder; returns it."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        model, tok, processor = tiny_clip_model(seed, tokenizer)
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        processor.save_pretrained(folder)
    return folder


# ----------------------------------------------------------------------------------------------
# image-to-video


def _tiny_t5_encoder(tokenizer, seed: int, umt5: bool):
    import torch
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    kw = {"vocab_size": len(tokenizer), "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4,
          "relative_attention_num_buckets": 8, "pad_token_id": tokenizer.pad_token_id,
          "eos_token_id": tokenizer.eos_token_id, "decoder_start_token_id": tokenizer.pad_token_id}
    torch.manual_seed(seed)
    if umt5:
        return UMT5EncoderModel(UMT5Config(**kw))
    return T5EncoderModel(T5Config(**kw))


def tiny_video_pipeline(backend: Literal["wan", "cogvideox"] = "wan", seed: int = 0):
    """A random image-to-video pipeline: Wan 2.1 I2V or CogVideoX I2V, tiny, for 16–32 px clips.

    Wan: 16-channel Wan VAE (×8 spatial, ×4 temporal), a 2-layer transformer with image
    conditioning from a tiny CLIP vision tower. CogVideoX: its 3D VAE and a 1-layer transformer
    with learned positional embeddings for 16×16 frames. Both use a tiny T5-style text encoder.
    """
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    tok = offline_t5_tokenizer()
    if backend == "wan":
        from diffusers import (
            AutoencoderKLWan,
            FlowMatchEulerDiscreteScheduler,
            WanImageToVideoPipeline,
            WanTransformer3DModel,
        )

        torch.manual_seed(seed)
        vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True])
        torch.manual_seed(seed)
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
            text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=4,
        )
        torch.manual_seed(seed)
        image_encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                         num_attention_heads=2, image_size=32,
                                                         intermediate_size=16, patch_size=1))
        image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        return WanImageToVideoPipeline(
            tokenizer=tok, text_encoder=_tiny_t5_encoder(tok, seed, umt5=True), vae=vae,
            scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), image_processor=image_processor,
            image_encoder=image_encoder, transformer=transformer,
        )
    if backend == "cogvideox":
        from diffusers import (
            AutoencoderKLCogVideoX,
            CogVideoXDDIMScheduler,
            CogVideoXImageToVideoPipeline,
            CogVideoXTransformer3DModel,
        )

        torch.manual_seed(seed)
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=4, time_embed_dim=2,
            text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2, sample_frames=9, patch_size=2,
            temporal_compression_ratio=4, max_text_seq_length=16, use_rotary_positional_embeddings=True,
            use_learned_positional_embeddings=True,
        )
        torch.manual_seed(seed)
        vae = AutoencoderKLCogVideoX(
            in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
            up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
            layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4,
        )
        return CogVideoXImageToVideoPipeline(
            tokenizer=tok, text_encoder=_tiny_t5_encoder(tok, seed, umt5=False), vae=vae,
            transformer=transformer, scheduler=CogVideoXDDIMScheduler(),
        )
    raise ValueError(f"unknown video backend {backend!r}; expected 'wan' or 'cogvideox'")


def save_tiny_video_pipeline(folder: str | Path, backend: Literal["wan", "cogvideox"] = "wan", seed: int = 0) -> Path:
    """Save :func:`tiny_video_pipeline` with ``save_pretrained`` into ``folder``; returns it."""
    folder = Path(folder)
    if not (folder / "model_index.json").is_file():
        tiny_video_pipeline(backend, seed).save_pretrained(folder)
    return folder
