"""Inpainting with dynamic masking on a tiny random SD-2 (and SDXL) pipeline, CPU, offline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inhabit.errors import InputError, MissingWeightsError
from inhabit.imagine.attention import attention_grid, cross_attention_names
from inhabit.imagine.inpaint import (
    DEFAULT_SD2_INPAINT,
    DiffusersInpainter,
    ImageFolderInpainter,
    InpaintConfig,
    Inpainter,
    doctor_status,
    inpaint_seed,
    save_inpaint_result,
)
from inhabit.imagine.masking import attention_to_mask, mean_of_recent, silhouette_to_inpaint_mask
from inhabit.imagine.testing import save_tiny_inpaint_pipeline, tiny_inpaint_config

PROMPT = "sitting on the bench"  # as in conftest


def test_config_defaults_are_genzis():
    cfg = InpaintConfig()
    assert cfg.model_id == DEFAULT_SD2_INPAINT
    assert (cfg.num_inference_steps, cfg.guidance_scale, cfg.strength) == (50, 7.5, 1.0)
    assert (cfg.attn_res, cfg.dynamic_mask_steps, cfg.attn_average_steps) == (None, (0, 25), 3)
    assert attention_grid(512, 512, 8, cfg.attn_res) == (16, 16)  # GenZI's level at 512 px
    assert (cfg.box_filter, cfg.upsample, cfg.mask_quantile) == (3, "bicubic", 0.7)
    assert (cfg.refine_dilate_kernel, cfg.refine_dilate_iterations) == (11, 8)
    assert cfg.full_prompt(PROMPT) == ("a woman, sitting on the bench, wearing a white shirt and blue pants, "
                                       "full body")
    assert InpaintConfig(variant="sdxl").model_id == "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"
    with pytest.raises(InputError, match=r"InpaintConfig\.mask_quantile is 1\.5; expected in \(0, 1\)"):
        InpaintConfig(mask_quantile=1.5)
    with pytest.raises(InputError, match=r"InpaintConfig\.dynamic_mask_steps is \(5, 2\)"):
        InpaintConfig(dynamic_mask_steps=(5, 2))


def test_dynamic_mask_timeline_with_genzi_numbers(sd_dir, renders):
    """50 steps, masks rebuilt after steps 0..24: empty at step 0, ~30 % and changing over
    steps 1..25, frozen from step 25 on; each mask is the 0.7-quantile of the box-filtered,
    upsampled mean of the previous three steps' human-token attention."""
    inp = DiffusersInpainter(tiny_inpaint_config(sd_dir, mask_save_every=1))
    assert inp.config.num_inference_steps == 50 and inp.config.dynamic_mask_steps == (0, 25)
    res = inp.inpaint(renders[:1], PROMPT, [11])
    masks = res.masks_per_step[0]
    assert sorted(masks) == list(range(50))
    assert not masks[0].any()
    cover = np.array([masks[s].mean() for s in range(1, 26)])
    np.testing.assert_allclose(cover, 0.3, atol=0.01)
    distinct = {masks[s].tobytes() for s in range(1, 26)}
    assert len(distinct) > 1  # the mask follows the attention as it changes
    for s in range(26, 50):
        assert np.array_equal(masks[s], masks[25])
    assert np.array_equal(res.final_masks[0], masks[25])
    # the mask used at step i+1 comes from the human attention of steps i-2..i
    human = torch.from_numpy(res.human_attention[0])  # (50, 16, 16)
    assert human.shape == (50, 16, 16)
    for i in (0, 1, 2, 10, 24):
        hist = [human[j][None] for j in range(max(0, i - 2), i + 1)]
        expected = attention_to_mask(mean_of_recent(hist, 3), (64, 64))[0].numpy()
        assert np.array_equal(masks[i + 1], expected), i


def _force_attention(unet, human: list[int], rows: slice, cols: slice, strength: float = 3.0):
    """Hooks making every 16×16 query inside the region attend to the human tokens (and nothing
    outside it): q = +a·1 inside, −a·1 outside; k = b·1 for human tokens, 0 for the others."""
    grid = torch.zeros(16, 16, dtype=torch.bool)
    grid[rows, cols] = True
    inside = grid.flatten()
    hooks = []

    def q_hook(mod, args, out):
        if out.shape[1] != 256:
            return out
        forced = torch.full_like(out, -strength)
        forced[:, inside] = strength
        return forced

    def k_hook(mod, args, out):
        forced = torch.zeros_like(out)
        forced[:, human] = strength
        return forced

    for name in cross_attention_names(unet):
        attn = unet.get_submodule(name[: -len(".processor")])
        hooks.append(attn.to_q.register_forward_hook(q_hook))
        hooks.append(attn.to_k.register_forward_hook(k_hook))
    return hooks


def test_mask_lands_where_the_human_tokens_attend(inpainter, renders):
    human = inpainter.human_tokens(PROMPT)
    hooks = _force_attention(inpainter.pipe.unet, human, slice(2, 10), slice(4, 12))
    try:
        res = inpainter.inpaint(renders[:1], PROMPT, [1])
    finally:
        for h in hooks:
            h.remove()
    for b in range(1):
        att = res.human_attention[b].mean(axis=0)  # (16, 16)
        assert att[2:10, 4:12].min() > 0.99 and att[10:, :].max() < 1e-6
        for step in range(1, 5):
            m = res.masks_per_step[b][step]
            assert m.mean() == pytest.approx(0.3, abs=0.01)
            assert m[12:36, 20:44].all()  # region interior (16×16 cells of 4 px)
            near = np.zeros_like(m)
            near[4:44, 12:52] = True  # region grown by one cell
            assert not m[~near].any()


def test_recorded_maps_shapes_and_token_sums(inpainter, two_views):
    res = two_views
    n, steps = 2, inpainter.config.num_inference_steps
    assert res.human_attention.shape == (n, steps, 16, 16)
    assert res.token_attention.shape == (n, 16, 16, 77)
    np.testing.assert_allclose(res.token_attention.sum(-1), 1.0, atol=1e-5)
    # the per-step human maps are the per-token maps summed over the human tokens
    human = list(res.human_tokens)
    assert human == inpainter.human_tokens(PROMPT)
    np.testing.assert_allclose(res.human_attention.mean(axis=1), res.token_attention[..., human].sum(-1),
                               rtol=1e-5, atol=1e-6)
    assert [im.shape for im in res.images] == [(64, 64, 3)] * 2 and res.images[0].dtype == np.uint8
    assert res.prompt.startswith("a woman, sitting on the bench") and "blurry" in res.negative_prompt
    assert sorted(res.masks_per_step[0]) == list(range(steps))


def test_seeds_reproducible_and_independent_of_batch(sd_dir, inpainter, renders):
    fast = DiffusersInpainter.from_pipeline(inpainter.pipe, tiny_inpaint_config(
        sd_dir, num_inference_steps=4, dynamic_mask_steps=(0, 2), batch_size=2))
    alone = fast.inpaint(renders[:1], PROMPT, [7])
    again = fast.inpaint(renders[:1], PROMPT, [7])
    # three images in two pipeline calls ([1, 0], [2]); seed 7 now shares its batch
    batch = fast.inpaint([renders[1], renders[0], renders[2]], PROMPT, [3, 7, 9])
    assert len(batch) == 3
    assert np.array_equal(alone.images[0], again.images[0])
    assert np.abs(alone.images[0].astype(int) - batch.images[1]).max() <= 1
    assert np.array_equal(alone.final_masks[0], batch.final_masks[1])
    assert not np.array_equal(batch.images[0], batch.images[2])


def test_mask_update_every_k_steps(sd_dir, inpainter, renders):
    every2 = DiffusersInpainter.from_pipeline(inpainter.pipe, tiny_inpaint_config(
        sd_dir, num_inference_steps=6, dynamic_mask_steps=(0, 4), mask_update_every=2, mask_save_every=1))
    res = every2.inpaint(renders[:1], PROMPT, [5])
    m = res.masks_per_step[0]
    human = torch.from_numpy(res.human_attention[0])
    # rebuilt after steps 0 and 2 only: step 1's mask serves steps 1-2, step 3's serves 3-5
    assert not m[0].any() and np.array_equal(m[1], m[2]) and all(np.array_equal(m[3], m[s]) for s in (4, 5))
    expected = attention_to_mask(mean_of_recent([human[j][None] for j in range(3)], 3), (64, 64))[0].numpy()
    assert np.array_equal(m[3], expected)


def test_refinement_masks_are_fixed(sd_dir, inpainter, renders):
    inpainter = DiffusersInpainter.from_pipeline(inpainter.pipe, tiny_inpaint_config(
        sd_dir, num_inference_steps=3, dynamic_mask_steps=(0, 2), mask_save_every=1))
    sil = np.zeros((64, 64), bool)
    sil[20:40, 28:36] = True
    fixed = silhouette_to_inpaint_mask(sil, kernel=3, iterations=2)
    # no human word is needed when nothing is dynamic
    res = inpainter.inpaint(renders[:2], "a bench in the sun", [1, 2], masks=[fixed, fixed.astype(np.uint8) * 255])
    for b in range(2):
        assert all(np.array_equal(m, fixed) for m in res.masks_per_step[b].values())
        assert np.array_equal(res.final_masks[b], fixed)
    assert res.human_attention is None and res.token_attention is not None
    # mixed batch: the fixed one stays, the dynamic one starts empty and grows to 30 %
    mixed = inpainter.inpaint(renders[:2], PROMPT, [1, 2], masks=[fixed, None])
    assert np.array_equal(mixed.final_masks[0], fixed)
    assert not mixed.masks_per_step[1][0].any() and mixed.final_masks[1].mean() == pytest.approx(0.3, abs=0.01)


def test_inpaint_input_errors(inpainter, renders):
    with pytest.raises(InputError, match=r"names no person .*prompt prefix 'a person'"):
        DiffusersInpainter.from_pipeline(inpainter.pipe, tiny_inpaint_config(
            "unused", prompt_prefix="", num_inference_steps=2)).inpaint(renders[:1], "a bench in the sun", [1])
    with pytest.raises(InputError, match=r"images\[1\] is float64 with shape \(64, 64, 3\); expected \(H, W, 3\) uint8"):
        inpainter.inpaint([renders[0], renders[1] / 255.0], PROMPT, [1, 2])
    with pytest.raises(InputError, match=r"images\[1\] is 32x64 but images\[0\] is 64x64"):
        inpainter.inpaint([renders[0], renders[1][:, :32]], PROMPT, [1, 2])
    with pytest.raises(InputError, match=r"1 seeds for 2 images"):
        inpainter.inpaint(renders[:2], PROMPT, [1])
    with pytest.raises(InputError, match=r"masks\[0\] has shape \(8, 8\); expected \(64, 64\)"):
        inpainter.inpaint(renders[:1], PROMPT, [1], masks=[np.zeros((8, 8), bool)])
    with pytest.raises(InputError, match=r"images are 62x62; this model needs sides that are multiples of 4"):
        inpainter.inpaint([np.zeros((62, 62, 3), np.uint8)], PROMPT, [1])
    with pytest.raises(InputError, match="images is empty"):
        inpainter.inpaint([], PROMPT, [])


def test_attn_res_without_a_layer_is_explained(inpainter, renders):
    wrong = DiffusersInpainter.from_pipeline(inpainter.pipe, tiny_inpaint_config("unused", attn_res=8,
                                                                                 num_inference_steps=2))
    with pytest.raises(InputError, match=r"attn_res=8 matches no cross-attention layer .* have 16 cells"):
        wrong.inpaint(renders[:1], PROMPT, [1])


def test_missing_and_broken_models(tmp_path):
    with pytest.raises(MissingWeightsError, match=r"model 'nobody/no-such-inpainting-model' is not in the local "
                                                  r"Hugging Face cache .*huggingface-cli download"):
        DiffusersInpainter(InpaintConfig(model_id="nobody/no-such-inpainting-model", device="cpu"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingWeightsError, match=r"empty has no model_index\.json; expected a diffusers pipeline"):
        DiffusersInpainter(InpaintConfig(model_id=str(tmp_path / "empty"), device="cpu"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionInpaintPipeline",
                                                         "unet": ["diffusers", "UNet2DConditionModel"]}))
    with pytest.raises(MissingWeightsError, match=r"could not load a StableDiffusionInpaintPipeline from .*broken"):
        DiffusersInpainter(InpaintConfig(model_id=str(broken), device="cpu"))
    with pytest.raises(MissingWeightsError, match=r"local model folder .*nowhere does not exist"):
        DiffusersInpainter(InpaintConfig(model_id=str(tmp_path / "nowhere"), device="cpu"))


def test_variant_mismatch(sd_dir):
    with pytest.raises(InputError, match=r"variant is 'sdxl' but .* holds a StableDiffusionInpaintPipeline; "
                                         r"set variant to 'sd2'"):
        DiffusersInpainter(tiny_inpaint_config(sd_dir, variant="sdxl"))


def test_sdxl_tiny_pipeline_two_steps(tmp_path, renders):
    folder = save_tiny_inpaint_pipeline(tmp_path / "sdxl", variant="sdxl")
    inp = DiffusersInpainter(tiny_inpaint_config(folder, variant="sdxl", num_inference_steps=2,
                                                 dynamic_mask_steps=(0, 2), mask_save_every=1))
    res = inp.inpaint(renders[:2], PROMPT, [1, 2])
    assert res.human_attention.shape == (2, 2, 16, 16)
    np.testing.assert_allclose(res.token_attention.sum(-1), 1.0, atol=1e-5)
    assert not res.masks_per_step[0][0].any() and res.masks_per_step[0][1].mean() == pytest.approx(0.3, abs=0.01)
    assert res.images[0].shape == (64, 64, 3)


def test_inpaint_seed_scheme():
    s = inpaint_seed(1, 3, 0)
    assert s == inpaint_seed(1, 3, 0) and 0 <= s < 2**63
    seeds = {inpaint_seed(1, v, h) for v in range(16) for h in range(4)}
    assert len(seeds) == 64
    assert inpaint_seed(2, 3, 0) != s
    assert inpaint_seed(1, "view003", 1) == inpaint_seed(1, "view003", 1) != inpaint_seed(1, "view004", 1)


def test_save_and_read_back_with_image_folder(inpainter, two_views, renders, tmp_path):
    keys = [("view000", 0), ("view001", 1)]
    res = two_views
    paths = save_inpaint_result(res, tmp_path, renders=renders[:2])
    assert [p.name for p in paths] == ["view000_h0.png", "view001_h1.png"]
    assert (tmp_path / "view001_h1" / "mask_000.png").is_file() and (tmp_path / "view001_h1_sheet.png").is_file()
    meta = json.loads((tmp_path / "inpaint.json").read_text())
    assert meta["keys"] == [["view000", 0], ["view001", 1]] and meta["human_tokens"] == list(res.human_tokens)
    folder = ImageFolderInpainter(tmp_path)
    assert isinstance(folder, Inpainter) and isinstance(inpainter, Inpainter)
    back = folder.inpaint(renders[:2], PROMPT, [0, 0], keys=keys)
    for a, b in zip(back.images, res.images):
        assert np.array_equal(a, b)
    assert np.array_equal(back.final_masks[1], res.final_masks[1])


def test_image_folder_errors(tmp_path, renders):
    from inhabit.io import write_image

    write_image(tmp_path / "view000.png", renders[0])
    write_image(tmp_path / "view001_h0.png", renders[0][:32])
    folder = ImageFolderInpainter(tmp_path)
    res = folder.inpaint(renders[:1], PROMPT, [0], keys=[("view000", 0)])  # plain name for hypothesis 0
    assert np.array_equal(res.images[0], renders[0]) and not res.final_masks[0].any()
    with pytest.raises(InputError, match=r"no inpainting for view 'view000' hypothesis 2 in .* \(looked for "
                                         r"view000_h2\.png, view000_h2\.jpg, inpaint2/view000\.png"):
        folder.inpaint(renders[:1], PROMPT, [0], keys=[("view000", 2)])
    with pytest.raises(InputError, match=r"view001_h0\.png is 64x32 but view 'view001' is rendered at 64x64"):
        folder.inpaint(renders[:1], PROMPT, [0], keys=[("view001", 0)])
    with pytest.raises(InputError, match="does not exist or is not a folder"):
        ImageFolderInpainter(tmp_path / "nope")


def test_doctor_status_names_the_models():
    rows = doctor_status()
    assert [r.model_id for r in rows] == [DEFAULT_SD2_INPAINT, "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"]
    assert all(r.optional for r in rows)
    assert all(r.found or "huggingface-cli download" in r.how_to_provide for r in rows)


def test_package_exports_lazily():
    import inhabit.imagine as imagine

    assert imagine.DiffusersInpainter is DiffusersInpainter
    assert imagine.rank_hypotheses.__module__ == "inhabit.imagine.clip"
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = imagine.Nope
