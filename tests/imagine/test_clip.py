"""CLIP image-text cosine, frame consistency and hypothesis ranking, with a tiny random CLIP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inhabit.errors import InputError, MissingWeightsError
from inhabit.imagine.clip import DEFAULT_CLIP, ClipScorer, Ranking, doctor_status, rank_hypotheses
from inhabit.imagine.testing import save_tiny_clip_model


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    folder = save_tiny_clip_model(tmp_path_factory.mktemp("clip") / "model", tokenizer="real")
    return ClipScorer(str(folder), device="cpu")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8) for _ in range(4)]


def test_cosine_equals_manual_projection(scorer, images):
    text = "a woman sitting on the bench"
    got = scorer.score(images, text)
    model = scorer.model
    with torch.no_grad():
        px = scorer.processor(images=images, return_tensors="pt")["pixel_values"]
        img = model.visual_projection(model.vision_model(pixel_values=px).pooler_output)
        ids = scorer.tokenizer([text], return_tensors="pt")["input_ids"]
        txt = model.text_projection(model.text_model(input_ids=ids).pooler_output)
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    expected = (img @ txt.T)[:, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.shape == (4,) and np.all(np.abs(got) <= 1.0)  # plain cosine, no ×100
    both = scorer.scores(images, [text, "an empty room"])
    assert both.shape == (4, 2)
    np.testing.assert_allclose(both[:, 0], got, rtol=1e-5, atol=1e-6)


def test_frame_consistency(scorer, images):
    assert scorer.frame_consistency([images[0]] * 5) == pytest.approx(1.0, abs=1e-5)
    sims = scorer.adjacent_similarities(np.stack(images))
    f = scorer.image_features(images)
    np.testing.assert_allclose(sims, [(f[i] @ f[i + 1]).item() for i in range(3)], rtol=1e-5, atol=1e-6)
    assert scorer.frame_consistency(images) == pytest.approx(float(np.mean(sims)))
    with pytest.raises(InputError, match="at least 2 frames, got 1"):
        scorer.frame_consistency(images[:1])


def test_batching_does_not_change_features(scorer, images):
    full = scorer.image_features(images)
    scorer.batch_size = 3
    try:
        split = scorer.image_features(images)
    finally:
        scorer.batch_size = 32
    torch.testing.assert_close(full, split, atol=1e-5, rtol=1e-5)


def test_input_errors(scorer, images):
    with pytest.raises(InputError, match=r"CLIP image 1 is float64 \(40, 56, 3\); expected \(H, W, 3\) uint8"):
        scorer.score([images[0], images[1] / 255.0], "x")
    with pytest.raises(InputError, match="non-empty list of strings"):
        scorer.scores(images, [])


def test_rank_by_clip_then_fallback():
    r = rank_hypotheses([0.21, 0.27, float("nan"), 0.25])
    assert r.method == "clip" and r.order.tolist() == [1, 3, 0, 2]  # higher first, NaN last
    assert r.top(0.5).tolist() == [1, 3]
    e = rank_hypotheses(None, fallback_energies=[3.0, 1.0, float("nan"), 2.0])
    assert e.method == "energy" and e.order.tolist() == [1, 3, 0, 2]  # lower first
    assert rank_hypotheses([float("nan")] * 2, [2.0, 1.0]).method == "energy"
    none = rank_hypotheses(None)
    assert none.method == "none" and len(none.order) == 0
    # GenZI keeps ⌊N/2⌋; a single survivor would give 0, inhabit keeps at least one
    assert Ranking(np.array([0]), "clip", np.array([0.3])).top(0.5).tolist() == [0]
    # ties keep input order
    assert rank_hypotheses([0.5, 0.5, 0.5]).order.tolist() == [0, 1, 2]
    with pytest.raises(InputError, match="3 scores but 2 fallback energies"):
        rank_hypotheses([0.1, 0.2, 0.3], [1.0, 2.0])


def test_missing_clip_model(tmp_path):
    with pytest.raises(MissingWeightsError, match=r"CLIP scorer .*'nobody/no-such-clip' is not in the local"):
        ClipScorer("nobody/no-such-clip")
    (tmp_path / "junk").mkdir()
    with pytest.raises(MissingWeightsError, match=r"could not load a CLIP model, tokenizer and image processor from"):
        ClipScorer(str(tmp_path / "junk"))
    rows = doctor_status()
    assert rows[0].model_id == DEFAULT_CLIP and rows[0].optional
