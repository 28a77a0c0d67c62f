"""Synthetic stand-ins for user-supplied model files, so tests and other areas run the real loading
code offline: a SMPL-X ``SMPLX_NEUTRAL.npz`` and a VPoser V02_05 checkpoint.

Neither file contains anything derived from SMPL-X or VPoser. The SMPL-X stand-in is a plausible
humanoid built from anny (Apache-2.0 code, CC0 data): anny's default adult in its T-pose (inhabit's
zero SMPL-X pose), re-expressed in SMPL-X's canonical frame (y up, facing +z) with

* ``v_template``/``f``: anny's 13,718 vertices and 27,420 triangles, reordered so that the vertex
  ids smplx reads for its extra keypoints (nose 9120, eyes, ears, toes, heels, finger tips) sit
  where anny's own keypoints are (V > 9929 is required by smplx);
* ``J_regressor``: per joint, non-negative weights summing to one over nearby vertices that
  reproduce anny's bone heads (non-negative least squares), so joints follow the shape;
* ``weights``: anny's skinning weights grouped onto the 55 SMPL-X joints;
* ``shapedirs``: the first 10 betas are principal components of anny phenotype samples (drawn from
  ``seed``), scaled to unit variance; the other 290 betas and the 100 expressions are zero;
* ``posedirs`` zero (no pose correctives), ``hands_components*`` random orthonormal bases (``seed``),
  ``hands_mean*`` zero (flat hands), random valid face landmarks.

The result bends like a body: bending a joint by a SMPL-X rotvec moves the same limb the same way as
on anny, which the shared protocol tests rely on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

SYNTHETIC_VERSION = 1
"""Bumped whenever the synthetic SMPL-X layout changes (keys the cached copies)."""

_EXTRA_VERTEX_TARGETS = {
    # smplx.vertex_ids["smplx"] (public facts of the smplx package) -> what sits there
    9120: ("keypoint", "nose"), 9929: ("keypoint", "right_eye"), 9448: ("keypoint", "left_eye"),
    616: ("keypoint", "right_ear"), 6: ("keypoint", "left_ear"),
    5770: ("keypoint", "left_big_toe"), 5780: ("keypoint", "left_small_toe"), 8846: ("keypoint", "left_heel"),
    8463: ("keypoint", "right_big_toe"), 8474: ("keypoint", "right_small_toe"), 8635: ("keypoint", "right_heel"),
    5361: ("tip", "finger1.L"), 4933: ("tip", "finger2.L"), 5058: ("tip", "finger3.L"), 5169: ("tip", "finger4.L"),
    5286: ("tip", "finger5.L"), 8079: ("tip", "finger1.R"), 7669: ("tip", "finger2.R"), 7794: ("tip", "finger3.R"),
    7905: ("tip", "finger4.R"), 8022: ("tip", "finger5.R"),
}

_SMPLX_FINGER_BONE = {"thumb": "finger1", "index": "finger2", "middle": "finger3", "ring": "finger4", "pinky": "finger5"}

PELVIS_OFFSET_CANONICAL = np.array([0.0, -0.3, 0.02])
"""Where the synthetic template puts the pelvis (real SMPL-X templates do not have it at the origin
either), so that the pelvis-translation convention is actually exercised."""


def _nnls_point_weights(points: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative weights over the nearest vertices (summing to 1) reproducing ``target``."""
    from scipy.optimize import nnls

    d = np.linalg.norm(points - target, axis=1)
    for k in (24, 64, 160, 400, 1000):
        idx = np.argsort(d)[:k]
        A = np.vstack([points[idx].T, 10.0 * np.ones((1, k))])
        b = np.concatenate([target, [10.0]])
        w, _ = nnls(A, b)
        if w.sum() > 0 and np.linalg.norm(points[idx].T @ (w / w.sum()) - target) < 1e-3:
            break
    return idx, w / w.sum()


def build_synthetic_smplx(seed: int = 0, num_shape_samples: int = 64) -> dict[str, np.ndarray]:
    """The arrays of a synthetic ``SMPLX_NEUTRAL.npz`` (see the module docstring), keyed as smplx reads them."""
    from inhabit.body.anny_model import AnnyBody
    from inhabit.body.anny_rig import bone_to_smplx_joint
    from inhabit.body.skeleton import R_WORLD_CANONICAL, SMPLX_JOINT_NAMES_55, SMPLX_PARENTS_55

    rng = np.random.default_rng(seed)
    body = AnnyBody(dtype=torch.float32)
    core = body.core
    idx = {b: i for i, b in enumerate(body.bone_labels)}
    tpose = body.body_pose_from_smplx_rotvec(torch.zeros(1, 21, 3))
    with torch.no_grad():
        params = body.default_params(1).replace(body_pose=tpose)
        out = body(params)
        local = body.forward_local(tpose, params.shape)
    to_can = lambda x: np.asarray(x, dtype=np.float64) @ R_WORLD_CANONICAL + PELVIS_OFFSET_CANONICAL  # noqa: E731
    V_world = out.vertices[0].double().numpy()
    V = to_can(V_world)
    heads = to_can(local["bone_heads"][0].double().numpy())
    kps = dict(zip(out.keypoint_names, to_can(out.keypoints[0].double().numpy())))
    joints22 = to_can(out.joints[0].double().numpy())
    nV = V.shape[0]

    # dense anny skinning weights (V, K)
    W_bones = np.zeros((nV, core.bone_count))
    np.add.at(W_bones, (np.arange(nV)[:, None], core.vertex_bone_indices.cpu().numpy()),
              core.vertex_bone_weights.cpu().double().numpy())

    # vertex order: put anny vertices at the ids smplx reads extra keypoints from
    chosen: dict[int, int] = {}
    used: set[int] = set()
    for sid, (kind, what) in sorted(_EXTRA_VERTEX_TARGETS.items()):
        if kind == "keypoint":
            d = np.linalg.norm(V - kps[what], axis=1)
        else:  # finger tip: the skin of the last phalanx farthest from the wrist
            name, side = what.split(".")
            last = idx[f"{name}-3.{side}"]
            mask = W_bones[:, last] > 0.5
            d = -np.where(mask, np.linalg.norm(V - heads[idx[f"wrist.{side}"]], axis=1), -np.inf)
        for vid in np.argsort(d):
            if int(vid) not in used:
                chosen[sid] = int(vid)
                used.add(int(vid))
                break
    perm = np.full(nV, -1, dtype=np.int64)  # new index -> old index
    for sid, vid in chosen.items():
        perm[sid] = vid
    rest = iter(i for i in range(nV) if i not in used)
    for i in range(nV):
        if perm[i] < 0:
            perm[i] = next(rest)
    inv = np.empty(nV, dtype=np.int64)
    inv[perm] = np.arange(nV)
    V = V[perm]
    W_bones = W_bones[perm]
    faces = inv[core.faces.cpu().numpy()]

    # joint targets (55, 3)
    targets = np.zeros((55, 3))
    targets[:22] = joints22
    ear_mid = 0.5 * (kps["left_ear"] + kps["right_ear"])
    targets[SMPLX_JOINT_NAMES_55.index("jaw")] = ear_mid + np.array([0.0, -0.04, 0.03])  # below, in front
    targets[SMPLX_JOINT_NAMES_55.index("left_eye_smplhf")] = heads[idx["eye.L"]]
    targets[SMPLX_JOINT_NAMES_55.index("right_eye_smplhf")] = heads[idx["eye.R"]]
    for j, name in enumerate(SMPLX_JOINT_NAMES_55):
        side, _, rest_name = name.partition("_")
        finger = rest_name[:-1]
        if finger in _SMPLX_FINGER_BONE:
            s = "L" if side == "left" else "R"
            targets[j] = heads[idx[f"{_SMPLX_FINGER_BONE[finger]}-{rest_name[-1]}.{s}"]]
    J_regressor = np.zeros((55, nV))
    for j in range(55):
        ids, w = _nnls_point_weights(V, targets[j])
        J_regressor[j, ids] = w

    weights = np.zeros((nV, 55))
    for k, b in enumerate(body.bone_labels):
        weights[:, SMPLX_JOINT_NAMES_55.index(bone_to_smplx_joint(b))] += W_bones[:, k]
    weights /= weights.sum(axis=1, keepdims=True)

    # shape space: PCA of anny phenotype samples in the T-pose (same vertex order, canonical frame)
    g = torch.Generator().manual_seed(int(seed))
    shapes = 0.6 * torch.randn(num_shape_samples, body.shape_dim, generator=g)
    with torch.no_grad():
        S = body.forward_local(tpose.expand(num_shape_samples, -1), shapes)["vertices"].double().numpy()
    S = (S @ R_WORLD_CANONICAL)[:, perm]  # pelvis-relative, canonical
    X = (S - S.mean(axis=0)).reshape(num_shape_samples, -1)
    # PCA through the small (N, N) Gram matrix: a full SVD of (N, 3V) is needlessly slow.
    evals, evecs = np.linalg.eigh(X @ X.T)
    order = np.argsort(evals)[::-1][:10]
    sing = np.sqrt(np.clip(evals[order], 1e-20, None))
    Vh = (evecs[:, order].T @ X) / sing[:, None]
    comps = Vh * (sing[:, None] / np.sqrt(num_shape_samples - 1))
    top = int(np.argmax(V[:, 1]))
    for c in comps:  # deterministic signs: beta_0 > 0 raises the top of the head
        ref = c.reshape(nV, 3)[top, 1] if abs(c.reshape(nV, 3)[top, 1]) > 1e-6 else c[np.argmax(np.abs(c))]
        if ref < 0:
            c *= -1.0
    shapedirs = np.zeros((nV, 3, 400), dtype=np.float32)
    shapedirs[:, :, :10] = comps.reshape(10, nV, 3).transpose(1, 2, 0)

    def orthonormal(n: int) -> np.ndarray:
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        return (q * np.sign(np.diag(r))).astype(np.float32)

    head_faces = np.nonzero((weights[faces].reshape(-1, 3, 55)[:, :, SMPLX_JOINT_NAMES_55.index("head")] > 0.5).all(1))[0]
    lmk = rng.choice(head_faces, size=51, replace=False)
    dyn = rng.choice(head_faces, size=(79, 17))
    kintree = np.stack([np.array(SMPLX_PARENTS_55, dtype=np.int64), np.arange(55)])
    kintree[0, 0] = 2**32 - 1  # smplx's files store the root's parent as uint32 max
    return {
        "v_template": V.astype(np.float32),
        "f": faces.astype(np.int32),
        "shapedirs": shapedirs,
        "posedirs": np.zeros((nV, 3, 486), dtype=np.float32),
        "J_regressor": J_regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": kintree,
        "hands_componentsl": orthonormal(45),
        "hands_componentsr": orthonormal(45),
        "hands_meanl": np.zeros(45, dtype=np.float32),
        "hands_meanr": np.zeros(45, dtype=np.float32),
        "lmk_faces_idx": lmk.astype(np.int64),
        "lmk_bary_coords": rng.dirichlet(np.ones(3), size=51).astype(np.float32),
        "dynamic_lmk_faces_idx": dyn.astype(np.int64),
        "dynamic_lmk_bary_coords": rng.dirichlet(np.ones(3), size=(79, 17)).astype(np.float32),
    }


def write_synthetic_smplx(directory: str | os.PathLike, seed: int = 0, gender: str = "neutral",
                          nested: bool = True) -> Path:
    """Write a synthetic ``SMPLX_<GENDER>.npz`` (real key layout) and return its path.

    Args:
        directory: model folder; the file goes to ``<directory>/smplx/`` when ``nested`` (the
            layout ``smplx.create`` expects) else directly into ``<directory>``.
        seed: changes the shape space and the random hand bases / landmarks.
    """
    from inhabit.io import atomic_path

    arrays = build_synthetic_smplx(seed)
    folder = Path(directory) / "smplx" if nested else Path(directory)
    path = folder / f"SMPLX_{gender.upper()}.npz"
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def synthetic_smplx_dir(seed: int = 0) -> Path:
    """A model folder holding a synthetic SMPL-X (written once under inhabit's cache, then reused).

    Pass it as ``load_body_model("smplx", model_path=synthetic_smplx_dir())``.
    """
    from inhabit.paths import cache_dir

    folder = cache_dir() / "synthetic_smplx" / f"v{SYNTHETIC_VERSION}_seed{seed}"
    if not (folder / "smplx" / "SMPLX_NEUTRAL.npz").is_file():
        write_synthetic_smplx(folder, seed)
    return folder


# ---------------------------------------------------------------------------------------------
# VPoser V02_05 stand-in


def write_synthetic_vposer(directory: str | os.PathLike, seed: int = 0, latent_dim: int = 32,
                           hidden: int = 512, with_extras: bool = True) -> Path:
    """Write a checkpoint with the layout of VPoser V02_05 (random weights) and return its path.

    The file is ``<directory>/V02_05/snapshots/V02_05_epoch=00_val_loss=0.00.ckpt``, a
    Lightning-style dict whose ``state_dict`` holds ``vp_model.encoder_net.*`` and
    ``vp_model.decoder_net.{0,3,5}.{weight,bias}``; with ``with_extras`` it also carries pickled
    non-tensor objects (as real Lightning checkpoints do) to exercise the safe loader.
    """
    from inhabit.io import atomic_path

    g = torch.Generator().manual_seed(int(seed))

    def lin(n_out: int, n_in: int, prefix: str) -> dict[str, torch.Tensor]:
        bound = 1.0 / np.sqrt(n_in)
        return {f"{prefix}.weight": (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound,
                f"{prefix}.bias": (torch.rand(n_out, generator=g) * 2 - 1) * bound}

    sd: dict[str, torch.Tensor] = {}
    # encoder (unused by inhabit, present in the real file)
    sd.update({"vp_model.encoder_net.0.weight": torch.ones(63), "vp_model.encoder_net.0.bias": torch.zeros(63)})
    sd.update(lin(hidden, 63, "vp_model.encoder_net.2"))
    sd.update(lin(latent_dim, hidden, "vp_model.encoder_net.8.mu"))
    sd.update(lin(latent_dim, hidden, "vp_model.encoder_net.8.logvar"))
    sd.update(lin(hidden, latent_dim, "vp_model.decoder_net.0"))
    sd.update(lin(hidden, hidden, "vp_model.decoder_net.3"))
    sd.update(lin(21 * 6, hidden, "vp_model.decoder_net.5"))
    ckpt: dict = {"epoch": 0, "global_step": 0, "state_dict": sd}
    path = Path(directory) / "V02_05" / "snapshots" / "V02_05_epoch=00_val_loss=0.00.ckpt"
    with atomic_path(path, suffix=".ckpt") as tmp:
        if with_extras:
            # Real Lightning checkpoints pickle objects of packages inhabit does not have (dotmap,
            # omegaconf...). Pickle one from a module that exists only while saving.
            import sys
            import types

            mod = types.ModuleType(_MISSING_MODULE)
            cls = type("HParams", (), {"__module__": _MISSING_MODULE})
            mod.HParams = cls
            hp = cls()
            hp.latentD, hp.num_neurons = latent_dim, hidden
            ckpt["hyper_parameters"] = {"model_params": hp}
            sys.modules[_MISSING_MODULE] = mod
            try:
                torch.save(ckpt, tmp)
            finally:
                del sys.modules[_MISSING_MODULE]
        else:
            torch.save(ckpt, tmp)
    (Path(directory) / "V02_05" / "V02_05.yaml").write_text(
        f"# synthetic VPoser stand-in written by inhabit (seed {seed})\nmodel_params:\n"
        f"  latentD: {latent_dim}\n  num_neurons: {hidden}\n")
    return path


_MISSING_MODULE = "inhabit_synthetic_vposer_hparams"
