"""CLIP-score aggregation and diversity metrics against hand-computed values."""

import math

import numpy as np
import pytest

from inhabit.evaluate import diversity, semantic


def test_clip_cosine_hand_case():
    img = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 2.0], [-1.0, 0.0]])
    cos = semantic.clip_cosine(img, np.array([5.0, 0.0]))
    np.testing.assert_allclose(cos, [1.0, 0.0, 1 / math.sqrt(2), -1.0], atol=1e-12)
    # the x100 scale clips negative cosines to 0 (torchmetrics convention, ZeroHSI's tables)
    np.testing.assert_allclose(semantic.clip_score_100(img, np.array([[5.0, 0.0]])), [100.0, 0.0, 100 / math.sqrt(2), 0.0])


def test_clip_cosine_rejects_mismatched_dims():
    with pytest.raises(ValueError, match=r"image_emb has shape \(2, 3\), expected \(N, 2\)"):
        semantic.clip_cosine(np.ones((2, 3)), np.ones(2))


def test_mean_of_all_and_max():
    scores = [0.2, 0.4, 0.3, 0.1, 0.25]
    groups = ["bench", "bench", "chair", "chair", "sofa"]
    assert semantic.mean_of_all(scores) == pytest.approx(0.25)
    assert semantic.mean_of_max(scores, groups) == pytest.approx((0.4 + 0.3 + 0.25) / 3)
    assert semantic.result_clip_score([0.1, 0.3]) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="got 2 scores but 1 group labels"):
        semantic.mean_of_max([0.1, 0.2], ["a"])


def test_clip_consistency():
    frames = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    assert semantic.clip_consistency(frames) == pytest.approx(0.5)  # (1 + 0) / 2
    with pytest.raises(ValueError, match="at least 2 frames"):
        semantic.clip_consistency(frames[:1])


def test_pose_features_pad_hands():
    p = np.arange(2 * 21 * 3, dtype=float).reshape(2, 21, 3)
    f = diversity.pose_features(p)
    assert f.shape == (2, 87)
    np.testing.assert_array_equal(f[:, :63], p.reshape(2, 63))
    assert np.all(f[:, 63:] == 0)
    assert diversity.pose_features(p, include_hands=False).shape == (2, 63)
    with pytest.raises(ValueError, match=r"expected \(N, 21, 3\) or \(N, 63\)"):
        diversity.pose_features(np.zeros((2, 22, 3)))


def test_genzi_k_rule():
    assert diversity.genzi_k(100, 50) == 50
    assert diversity.genzi_k(50, 50) == 50
    assert diversity.genzi_k(30, 50) == 3
    assert diversity.genzi_k(5, 20) == 1


def _three_clusters():
    """Clusters of 4, 4 and 8 points at +-0.1 around far-apart centres: every distance is 0.1."""
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    offs4 = np.array([[0.1, 0.0], [-0.1, 0.0], [0.0, 0.1], [0.0, -0.1]])
    pts = [centres[0] + offs4, centres[1] + offs4, centres[2] + offs4, centres[2] + offs4]
    return np.concatenate(pts), centres


def test_kmeans_on_clustered_toy_data():
    x, centres = _three_clusters()
    book, distortion = diversity.kmeans(x, 3, seed=1)
    order = np.lexsort(book.T[::-1])
    np.testing.assert_allclose(book[order], centres[np.lexsort(centres.T[::-1])], atol=1e-9)
    assert distortion == pytest.approx(0.1)
    ent, size, counts = diversity.entropy_and_cluster_size(x, book)
    assert sorted(counts.tolist()) == [4, 4, 8]
    assert ent == pytest.approx(-(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5)))
    assert size == pytest.approx(0.1)


def test_assignment_matches_scipy_vq():
    from scipy.cluster.vq import vq

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    book, _ = diversity.kmeans(x, 7, seed=3)
    _, size, counts = diversity.entropy_and_cluster_size(x, book)
    codes, dists = vq(x, book)
    np.testing.assert_array_equal(counts, np.bincount(codes, minlength=len(book)))
    assert size == pytest.approx(dists.mean())


def test_kmeans_diversity_small_set_and_padding_invariance():
    rng = np.random.default_rng(1)
    poses = rng.normal(scale=0.3, size=(30, 21, 3))
    padded = diversity.kmeans_diversity(diversity.pose_features(poses), seed=1)
    plain = diversity.kmeans_diversity(diversity.pose_features(poses, include_hands=False), seed=1)
    assert padded["k_used_20"] == 20 and padded["k_used_50"] == 3  # 30 < 50 -> max(1, 30 // 10)
    for k in padded:
        assert padded[k] == pytest.approx(plain[k])  # zero columns change no distance
    assert 0 < padded["entropy_50"] <= math.log(3) + 1e-12
    # deterministic given the seed
    assert diversity.kmeans_diversity(diversity.pose_features(poses), seed=1) == padded


def test_kmeans_bad_input():
    with pytest.raises(ValueError, match=r"k = 5 clusters need 1 <= k <= N = 3 samples"):
        diversity.kmeans(np.zeros((3, 2)), 5)
    with pytest.raises(ValueError, match="NaN"):
        diversity.kmeans(np.array([[0.0, np.nan], [1.0, 1.0]]), 1)


def test_sequence_diversity_hand_case():
    a = np.zeros((5, 22, 3))
    d = np.array([0.3, 0.4, 0.0])
    assert diversity.sequence_diversity([a, a + d]) == pytest.approx(0.5)
    # pairs (a, a+d), (a, a+2d), (a+d, a+2d): 0.5, 1.0, 0.5
    assert diversity.sequence_diversity([a, a + d, a + 2 * d]) == pytest.approx(2.0 / 3.0)
    # sequences of different lengths are compared on the common prefix
    b = np.concatenate([a + d, np.full((3, 22, 3), 100.0)])
    assert diversity.sequence_diversity([a, b]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 2 sequences"):
        diversity.sequence_diversity([a])
