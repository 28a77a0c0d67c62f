"""Diversity metrics: GenZI's k-means over body poses, ZeroHSI's pairwise joint distance of sequences.

GenZI (authors' code, ``genzi_facts.md`` §7.3), all results of a stage pooled over scenes:

1. feature per result = ``[body_pose (21x3 axis-angle, 63) | left hand (12) | right hand (12)]``, 87-D,
   the hand parts constant zeros (:func:`pose_features`);
2. ``scipy.cluster.vq.kmeans`` with k = 20 and 50: no whitening, ``iter = 20`` restarts from k random
   observations, each run iterated until the distortion changes by < 1e-5, the codebook with the
   lowest distortion kept (empty clusters are dropped inside scipy); when there are fewer samples
   than k, ``k = max(1, N // 10)``;
3. ``Entropy`` = Shannon entropy (natural log) of the cluster-size histogram after assigning every
   sample to its nearest centre; ``ClusterSize`` = mean Euclidean distance of the samples to their
   assigned centre.

The constant zero hand dimensions change no distance (and hence no number); they are kept so the
reported feature is the paper's 87-D one (``include_hands=False`` gives the 63-D feature).

ZeroHSI (§4): several sequences generated from the same input; diversity = the mean over all pairs of
sequences of the mean per-joint Euclidean distance (metres) (:func:`sequence_diversity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from inhabit.evaluate._arrays import as_np

GENZI_KMEANS_K = (20, 50)
"""The numbers of clusters GenZI reports."""
GENZI_HAND_DIMS = 24
"""Two 12-D hand PCA vectors, always zero in GenZI's evaluation."""


def pose_features(body_pose_smplx: Any, include_hands: bool = True) -> np.ndarray:
    """GenZI's diversity feature per body.

    Args:
        body_pose_smplx: (N, 21, 3) or (N, 63) SMPL-X-style local axis-angles (radians) of the 21 body
            joints (``BodyModel.body_pose_to_smplx_rotvec``).
        include_hands: append GenZI's 24 zero hand dimensions (distances are unchanged).

    Returns:
        (N, 87) or (N, 63) float64.
    """
    p = as_np(body_pose_smplx)
    if p.ndim == 3 and p.shape[1:] == (21, 3):
        p = p.reshape(p.shape[0], 63)
    if p.ndim != 2 or p.shape[1] != 63:
        raise ValueError(f"body_pose_smplx has shape {p.shape}, expected (N, 21, 3) or (N, 63)")
    if include_hands:
        p = np.concatenate([p, np.zeros((p.shape[0], GENZI_HAND_DIMS))], axis=1)
    return p


def genzi_k(num_samples: int, k: int) -> int:
    """GenZI's rule for small sets: ``k`` if there are at least k samples, else ``max(1, N // 10)``."""
    return k if num_samples >= k else max(1, num_samples // 10)


def kmeans(features: Any, k: int, iters: int = 20, thresh: float = 1e-5, seed: int = 1) -> tuple[np.ndarray, float]:
    """``scipy.cluster.vq.kmeans`` with a seeded legacy ``RandomState`` (GenZI seeds numpy with 1).

    Args:
        features: (N, D) observations, used as they are (no whitening).
        k: number of clusters (<= N).
        iters: random restarts; the codebook with the lowest distortion wins.
        thresh: a run stops when the distortion improves by less than this.
        seed: seeds ``np.random.RandomState`` for the initial centres.

    Returns:
        codebook (k', D) with k' <= k (empty clusters are dropped), distortion = mean distance of
        the observations to their nearest centre.
    """
    from scipy.cluster.vq import kmeans as _scipy_kmeans

    obs = as_np(features)
    if obs.ndim != 2 or obs.shape[0] == 0:
        raise ValueError(f"features has shape {obs.shape}, expected (N, D) with N >= 1")
    if not 1 <= k <= obs.shape[0]:
        raise ValueError(f"k = {k} clusters need 1 <= k <= N = {obs.shape[0]} samples")
    if not np.all(np.isfinite(obs)):
        raise ValueError("features contain NaN or infinite values")
    rng = np.random.RandomState(seed)
    try:
        book, dist = _scipy_kmeans(obs, k, iter=iters, thresh=thresh, rng=rng)
    except TypeError:  # scipy < 1.15 names the argument ``seed``
        book, dist = _scipy_kmeans(obs, k, iter=iters, thresh=thresh, seed=rng)
    return np.asarray(book), float(dist)


def entropy_and_cluster_size(features: Any, codebook: Any) -> tuple[float, float, np.ndarray]:
    """Assign every sample to its nearest centre; entropy of the sizes and mean distance.

    ``Entropy = -sum_c p_c ln p_c`` with ``p_c = n_c / N`` (empty clusters contribute 0);
    ``ClusterSize = 1/N sum_i |x_i - c(x_i)|``.

    Args:
        features: (N, D); codebook: (C, D).

    Returns:
        entropy (nats), cluster size (units of the features, radians for poses), counts (C,).
    """
    obs = as_np(features)
    book = as_np(codebook)
    d = np.linalg.norm(obs[:, None, :] - book[None, :, :], axis=-1)  # (N, C)
    codes = d.argmin(axis=1)
    dist = d[np.arange(len(obs)), codes]
    counts = np.bincount(codes, minlength=len(book))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum()) + 0.0, float(dist.mean()), counts  # + 0.0: no "-0.0" for one cluster


def kmeans_diversity(
    features: Any, ks: Sequence[int] = GENZI_KMEANS_K, seed: int = 1, iters: int = 20
) -> dict[str, float]:
    """GenZI's diversity: ``Entropy_k`` and ``ClusterSize_k`` for each k in ``ks``.

    Args:
        features: (N, D), e.g. :func:`pose_features`.
        ks: requested numbers of clusters (k is reduced by :func:`genzi_k` for small N).
        seed: k-means seed (GenZI: 1).

    Returns:
        ``{"entropy_20": ..., "cluster_size_20": ..., "k_used_20": ..., ...}``; entropy in nats,
        cluster size in the features' units (radians of axis-angle for poses).
    """
    obs = as_np(features)
    out: dict[str, float] = {}
    for k in ks:
        k_used = genzi_k(obs.shape[0], int(k))
        book, _ = kmeans(obs, k_used, iters=iters, seed=seed)
        ent, size, _ = entropy_and_cluster_size(obs, book)
        out[f"entropy_{k}"] = ent
        out[f"cluster_size_{k}"] = size
        out[f"k_used_{k}"] = float(k_used)
    return out


def sequence_diversity(sequences: Sequence[Any] | np.ndarray) -> float:
    """ZeroHSI's motion diversity: mean per-joint distance over all pairs of sequences.

    ``D = 2/(S(S-1)) sum_{a<b} 1/(T J) sum_{t,j} |X^a_{t,j} - X^b_{t,j}|``.

    Args:
        sequences: S >= 2 joint trajectories, each (T_s, J, 3) in metres, generated from the same
            input. Sequences of different length are compared on their common prefix (the
            shortest T), which is how fixed-length clips of one generator line up.

    Returns:
        metres (0 for identical sequences).
    """
    seqs = [as_np(s) for s in sequences]
    if len(seqs) < 2:
        raise ValueError(f"diversity needs at least 2 sequences from the same input, got {len(seqs)}")
    for i, s in enumerate(seqs):
        if s.ndim != 3 or s.shape[-1] != 3 or s.shape[1] != seqs[0].shape[1]:
            raise ValueError(f"sequence {i} has shape {s.shape}, expected (T, {seqs[0].shape[1]}, 3)")
    t = min(s.shape[0] for s in seqs)
    x = np.stack([s[:t] for s in seqs])  # (S, T, J, 3)
    total, pairs = 0.0, 0
    for a in range(len(x)):
        for b in range(a + 1, len(x)):
            total += float(np.linalg.norm(x[a] - x[b], axis=-1).mean())
            pairs += 1
    return total / pairs
