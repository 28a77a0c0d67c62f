"""Wall-time overhead of GenZI's dynamic masking against the plain diffusers inpainting pipeline.

One pipeline, one UNet, one process, three ways of running it, interleaved:

* ``plain``     — ``StableDiffusionInpaintPipeline.__call__`` with diffusers' own attention
                  processors and a fixed (empty) mask;
* ``recording`` — :class:`inhabit.imagine.inpaint.DiffusersInpainter` with the recording
                  cross-attention processors but no mask updates (GenZI's steps 25–49);
* ``dynamic``   — the same with a mask rebuilt after every step (GenZI's steps 0–24): attention →
                  mask, VAE re-encoding of the masked image, latents swapped in the callback.

Per-step time = interval between consecutive UNet calls (forward pre-hook), median over steps and
repeats, so text encoding and the final VAE decode are excluded. The full 50-step GenZI schedule
would run 25 dynamic and 25 recording steps; its projected overhead is
``(25·(dynamic − plain) + 25·(recording − plain)) / (50·plain)`` (also shown for
``mask_update_every=5``: 5 rebuilding steps, 45 recording). The parts of a dynamic step are
also timed alone (mask maths, VAE re-encoding, recording inside a UNet forward), and the UNet
output with the recorder active is compared with the plain one (must be identical).

Default: a real-size SD-2 inpainting UNet (865 M parameters, 9 input channels, cross-attention
1024, heads (5, 10, 20, 20), linear projections) and SD's VAE, random weights, 256×256 on CPU,
attention at 8×8 (one cell per 32 px, the level GenZI uses at 512 px). The text encoder has the
right width (1024) but 2 layers: it runs once per call, outside the timed steps. Needs ~5 GB RAM
and a few minutes. ``--quick``: the tiny test UNet at 64 px.

    python benchmarks/inpaint_overhead.py [--quick] [--steps N] [--repeats R] [--threads T]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common


def _sd2_pipeline(seed: int = 0):
    """A random SD-2-inpainting-sized pipeline (real UNet and VAE configs, shallow text encoder)."""
    import torch
    from diffusers import AutoencoderKL, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from inhabit.imagine.testing import _base_scheduler, offline_clip_tokenizer

    tok = offline_clip_tokenizer("real")
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=64, in_channels=9, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2, sample_size=512,
    )
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tok), hidden_size=1024, intermediate_size=4096, num_hidden_layers=2, num_attention_heads=16,
        max_position_embeddings=77, projection_dim=1024, hidden_act="gelu", bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    pipe = StableDiffusionInpaintPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet,
                                          scheduler=_base_scheduler(), safety_checker=None, feature_extractor=None,
                                          requires_safety_checker=False)
    pipe.unet.eval()
    pipe.vae.eval()
    return pipe


class _StepClock:
    """Timestamps of every UNet call (a forward pre-hook)."""

    def __init__(self, unet):
        self.times: list[float] = []
        self.handle = unet.register_forward_pre_hook(lambda *a: self.times.append(time.perf_counter()))

    def intervals(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:])]

    def reset(self):
        self.times.clear()


def _plain_processors(unet) -> dict:
    from inhabit.imagine.attention import RecordingAttnProcessor

    return {n: (p.inner if isinstance(p, RecordingAttnProcessor) else p) for n, p in unet.attn_processors.items()}


def _median_ms(fn, repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def main(argv=None) -> int:
    def extra(p):
        p.add_argument("--steps", type=int, default=None, help="denoising steps per timed run")
        p.add_argument("--repeats", type=int, default=None, help="timed runs per mode (interleaved)")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")

    args = _common.parse_args(__doc__.splitlines()[0], argv, extra)
    _common.setup_env()
    import numpy as np
    import torch
    from PIL import Image

    from inhabit.imagine.attention import CrossAttentionRecorder, install_recorder, remove_recorder
    from inhabit.imagine.inpaint import DiffusersInpainter, InpaintConfig
    from inhabit.imagine.masking import attention_to_mask
    from inhabit.imagine.testing import tiny_inpaint_pipeline

    quick = args.quick
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = args.steps or (10 if quick else 4)
    repeats = args.repeats or (3 if quick else 2)
    t0 = time.perf_counter()
    if quick:
        pipe, size, attn_res, label = tiny_inpaint_pipeline(0, "sd2", "real"), 64, 16, "tiny UNet, 64 px"
    else:
        pipe, size, attn_res, label = _sd2_pipeline(0), 256, 8, "SD-2 inpainting UNet (random), 256 px"
    build_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in pipe.unet.parameters())
    print(f"{label}: {n_params / 1e6:.1f} M UNet parameters, built in {build_s:.1f} s, "
          f"{torch.get_num_threads()} threads, {steps} steps x {repeats} repeats per mode", flush=True)

    rng = np.random.default_rng(0)
    render = np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((size // 8, size // 8, 1))).astype(np.uint8)
    prompt = "sitting on the bench"
    common = dict(attn_res=attn_res, num_inference_steps=steps, device="cpu", dtype="fp32", batch_size=1)
    dynamic = DiffusersInpainter.from_pipeline(pipe, InpaintConfig(dynamic_mask_steps=(0, steps), **common))
    recording = DiffusersInpainter.from_pipeline(pipe, InpaintConfig(dynamic_mask_steps=(0, 0), **common))
    cfg = dynamic.config
    negative = cfg.negative_prompt()
    full_prompt = cfg.full_prompt(prompt)
    clock = _StepClock(pipe.unet)

    def run_plain():
        remove_recorder(pipe.unet, _plain_processors(pipe.unet))
        pipe.scheduler = dynamic._scheduler
        pipe(prompt=[full_prompt], negative_prompt=[negative], image=[Image.fromarray(render)],
             mask_image=[Image.fromarray(np.zeros((size, size), np.uint8))], height=size, width=size,
             strength=1.0, num_inference_steps=steps, guidance_scale=cfg.guidance_scale,
             generator=[torch.Generator().manual_seed(1)], output_type="np")

    coverage = []

    def run_dynamic():
        res = dynamic.inpaint([render], prompt, [1])
        coverage.append(float(res.final_masks[0].mean()))

    def run_recording():
        recording.inpaint([render], prompt, [1])

    modes = {"plain": run_plain, "recording": run_recording, "dynamic": run_dynamic}
    step_times: dict[str, list[float]] = {m: [] for m in modes}
    call_times: dict[str, list[float]] = {m: [] for m in modes}
    run_dynamic()  # warm-up (first calls allocate)
    for r in range(repeats):
        for name, fn in modes.items():
            clock.reset()
            t = time.perf_counter()
            fn()
            call_times[name].append(time.perf_counter() - t)
            step_times[name].extend(clock.intervals())
            print(f"  repeat {r} {name:9s}: {statistics.median(clock.intervals()):.3f} s/step", flush=True)
    clock.handle.remove()
    per_step = {m: statistics.median(v) for m, v in step_times.items()}
    plain = per_step["plain"]

    # the parts of a dynamic step, alone
    parts_reps = 5 if quick else 3
    maps = torch.rand(1, size // 32 if not quick else 16, size // 32 if not quick else 16)
    mask_ms = _median_ms(lambda: attention_to_mask(maps, (size, size)), 20)
    init = pipe.image_processor.preprocess([Image.fromarray(render)], height=size, width=size)
    mask_cond = attention_to_mask(maps, (size, size))[:, None].float()
    gens = [torch.Generator().manual_seed(0)]

    def reencode():
        with torch.no_grad():
            pipe.prepare_mask_latents(mask_cond, init * (mask_cond < 0.5), 1, size, size, torch.float32,
                                      torch.device("cpu"), gens, True)

    reencode_ms = _median_ms(reencode, parts_reps)

    # recording inside one CFG UNet forward, and output equality
    lat = size // int(pipe.vae_scale_factor)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 9, lat, lat, generator=g)
    ctx = torch.randn(2, 77, pipe.unet.config.cross_attention_dim, generator=g)
    rec = CrossAttentionRecorder()
    plain_procs = _plain_processors(pipe.unet)
    remove_recorder(pipe.unet, plain_procs)
    with torch.no_grad():
        ref = pipe.unet(x, 500, encoder_hidden_states=ctx).sample
        install_recorder(pipe.unet, rec)
        grid = dynamic.recorder.grid or (attn_res, attn_res)
        rec.start(1, grid)
        out = pipe.unet(x, 500, encoder_hidden_states=ctx).sample
        rec.pop_step()
        max_diff = float((out - ref).abs().max())
        fwd = {"plain": [], "recording": []}
        for _ in range(parts_reps):
            remove_recorder(pipe.unet, plain_procs)
            t = time.perf_counter()
            pipe.unet(x, 500, encoder_hidden_states=ctx)
            fwd["plain"].append(time.perf_counter() - t)
            install_recorder(pipe.unet, rec)
            rec.start(1, grid)
            t = time.perf_counter()
            pipe.unet(x, 500, encoder_hidden_states=ctx)
            fwd["recording"].append(time.perf_counter() - t)
            rec.pop_step()
        rec.stop()
    remove_recorder(pipe.unet, plain_procs)
    fwd_ms = {k: statistics.median(v) * 1e3 for k, v in fwd.items()}

    def projected_overhead(every: int) -> float:
        """50 steps: ceil(25/k) rebuilding steps, the others recording only."""
        n_dyn = -(-25 // every)
        return (n_dyn * per_step["dynamic"] + (50 - n_dyn) * per_step["recording"]) / (50 * plain) - 1

    projected = projected_overhead(1)
    rows = [
        {"mode": m, "s/step": per_step[m], "overhead %": 100 * (per_step[m] / plain - 1),
         "s/call": statistics.median(call_times[m]), "samples": len(step_times[m])}
        for m in modes
    ]
    _common.print_table(rows, title=f"per-step wall time, {label}")
    parts = [
        {"part": "UNet forward, CFG batch (plain processors)", "ms": fwd_ms["plain"]},
        {"part": "UNet forward, CFG batch (recording)", "ms": fwd_ms["recording"]},
        {"part": "attention -> mask (box, bicubic, quantile)", "ms": mask_ms},
        {"part": "VAE re-encode of the masked image", "ms": reencode_ms},
    ]
    _common.print_table(parts, title="parts of a dynamic step")
    print(f"projected overhead of the full 50-step GenZI schedule (25 dynamic + 25 recording steps): "
          f"{100 * projected:.1f} %  (goal <= 5 %); with mask_update_every=5 (5 rebuilds): "
          f"{100 * projected_overhead(5):.1f} %")
    print(f"UNet output with the recorder vs plain: max |diff| = {max_diff:.3g}; "
          f"dynamic mask coverage {np.mean(coverage):.3f} (expected 0.30)")
    _common.write_results("inpaint_overhead", {
        "config": {"label": label, "unet_params": n_params, "size": size, "attn_res": attn_res, "steps": steps,
                   "repeats": repeats, "quick": quick, "build_s": build_s},
        "per_step_s": per_step, "per_call_s": {m: statistics.median(v) for m, v in call_times.items()},
        "step_samples": step_times, "parts_ms": {"unet_forward": fwd_ms, "mask": mask_ms, "reencode": reencode_ms},
        "projected_overhead_50_steps": projected, "projected_overhead_50_steps_update_every_5": projected_overhead(5),
        "unet_output_max_abs_diff": max_diff,
        "mask_coverage": float(np.mean(coverage)),
    }, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
