"""The 2D evidence and 3D fits of one stage of the pose job, and their files.

A *hypothesis* is one image per view (GenZI: the k-th inpainting of every view). For a stage
with H hypotheses over k views:

* :class:`Detections` — keypoints of every (hypothesis, view) in *camera* pixels, GenZI's
  acceptance per view, and a sentence for every dropped view (``keypoints.npz`` + ``.json``);
* :func:`lift_hypotheses` — one batched :func:`inhabit.lift.fit_bodies` over the hypotheses
  with enough accepted views; every fit becomes ``<id>/result.npz`` (``inhabit.export.results``)
  plus ``lift.json`` (energies, view weights, timings) and ``history.npz``.

Everything a later stage needs is read back from these files, so a resumed run continues from
them exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.conventions import COCO17_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.io import write_json, write_npz
from inhabit.structures import Keypoints2D


@dataclass
class Detections:
    """Keypoints of H hypotheses in k views.

    Attributes:
        ids: H hypothesis ids (``h0`` …, ``h0_r1`` …).
        view_names: k camera names.
        xy: (H, k, K, 2) float32 pixels of the *camera* (images of another size are rescaled).
        conf: (H, k, K) float32 confidences (0 where no image or no person).
        accepted: (H, k) bool, GenZI's acceptance rule passed.
        reasons: ``reasons[h][v]`` = why view v of hypothesis h was dropped ("" when accepted).
        names: K keypoint names.
    """

    ids: list[str]
    view_names: list[str]
    xy: np.ndarray
    conf: np.ndarray
    accepted: np.ndarray
    reasons: list[list[str]]
    names: tuple[str, ...] = KEYPOINT_NAMES

    def keypoints(self, h: int) -> Keypoints2D:
        """The k rows of hypothesis ``h`` (row v = camera v)."""
        return Keypoints2D(self.xy[h], self.conf[h], self.names)

    def notes(self) -> list[str]:
        out = []
        for hid, rs in zip(self.ids, self.reasons):
            dropped = [f"{v} ({r})" for v, r in zip(self.view_names, rs) if r]
            if dropped:
                out.append(f"{hid}: dropped {len(dropped)} of {len(rs)} views: {'; '.join(dropped)}")
        return out

    def save(self, folder: Path) -> list[Path]:
        npz = write_npz(folder / "keypoints.npz", xy=self.xy, conf=self.conf, accepted=self.accepted,
                        ids=np.array(self.ids), view_names=np.array(self.view_names), names=np.array(self.names))
        js = write_json(folder / "keypoints.json", {
            "hypotheses": {hid: {"accepted": [v for v, a in zip(self.view_names, acc) if a],
                                 "dropped": {v: r for v, r in zip(self.view_names, rs) if r}}
                           for hid, acc, rs in zip(self.ids, self.accepted.tolist(), self.reasons)},
            "notes": self.notes(),
        })
        return [npz, js]

    @staticmethod
    def load(folder: Path) -> Detections:
        with np.load(folder / "keypoints.npz", allow_pickle=False) as z:
            ids = [str(s) for s in z["ids"]]
            views = [str(s) for s in z["view_names"]]
            det = Detections(ids, views, z["xy"], z["conf"], z["accepted"].astype(bool), [], tuple(str(s) for s in z["names"]))
        doc = json.loads((folder / "keypoints.json").read_text())
        det.reasons = [[doc["hypotheses"][hid]["dropped"].get(v, "") for v in views] for hid in ids]
        return det


def drop_reason(kp: Keypoints2D, min_score: float, min_count: int) -> str:
    """Why a detection fails GenZI's rule ("" when it passes)."""
    if float(kp.conf.max(initial=0.0)) <= 0.0:
        return "no person detected"
    cols = [kp.names.index(n) for n in COCO17_NAMES if n in kp.names]
    n = int((kp.conf[0, cols] >= min_score).sum())
    if n >= min_count:
        return ""
    return f"only {n} of 17 keypoints with confidence >= {min_score:g} (need {min_count})"


def detect_hypotheses(detector, ids: Sequence[str], images: Sequence[Sequence[Path | None]], cameras: Sequence,
                      min_score: float, min_count: int, read: Callable[[Path], np.ndarray] | None = None,
                      progress: bool = True) -> Detections:
    """Run the detector on every image and apply GenZI's acceptance rule per (hypothesis, view).

    Args:
        detector: a ``KeypointDetector``. It is called once per hypothesis with that hypothesis'
            images in camera order (views without an image are left out).
        ids: H hypothesis ids; images: ``images[h][v]`` = file or None; cameras: the k cameras.
        min_score, min_count: GenZI's rule (0.25, 13 of the 17 COCO points).
    """
    from inhabit.io import read_image
    from inhabit.perceive.keypoints import accept_person

    read = read or read_image
    H, k = len(ids), len(cameras)
    K = len(KEYPOINT_NAMES)
    xy = np.zeros((H, k, K, 2), np.float32)
    conf = np.zeros((H, k, K), np.float32)
    accepted = np.zeros((H, k), bool)
    reasons = [["no image"] * k for _ in range(H)]
    it: Any = range(H)
    if progress:
        from inhabit.progress import track

        it = track(it, desc="keypoints", total=H)
    for h in it:
        present = [v for v in range(k) if images[h][v] is not None]
        if not present:
            continue
        pics = [read(images[h][v]) for v in present]
        kp = detector.detect(pics).select(KEYPOINT_NAMES) if present else None
        if kp is None or len(kp) != len(present):
            raise RuntimeError(f"the keypoint detector returned {0 if kp is None else len(kp)} rows for "
                               f"{len(present)} images")
        for row, v in enumerate(present):
            cam = cameras[v]
            H_img, W_img = pics[row].shape[:2]
            scale = np.array([cam.width / W_img, cam.height / H_img], np.float32)
            xy[h, v] = kp.xy[row] * scale
            conf[h, v] = kp.conf[row]
            one = kp[row]
            accepted[h, v] = bool(accept_person(one, min_score, min_count)[0])
            reasons[h][v] = "" if accepted[h, v] else drop_reason(one, min_score, min_count)
    return Detections(list(ids), [c.name for c in cameras], xy, conf, accepted, reasons)


@dataclass
class FitRecord:
    """One fitted hypothesis, as ``lift.json`` records it."""

    id: str
    parent: str | None
    result: str  # path relative to the run root
    views_used: list[str]
    view_weights: dict[str, float]
    energies: dict[str, float]
    energy_total: float
    skipped_steps: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FitSet:
    """The fits of one stage (``lift.json``)."""

    records: list[FitRecord]
    failed: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    refine: bool = False

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]

    def record(self, hid: str) -> FitRecord:
        for r in self.records:
            if r.id == hid:
                return r
        raise KeyError(hid)

    def save(self, path: Path) -> Path:
        return write_json(path, {"fits": [r.as_dict() for r in self.records], "failed": self.failed,
                                 "timings": self.timings, "refine": self.refine})

    @staticmethod
    def load(path: Path) -> FitSet:
        doc = json.loads(Path(path).read_text())
        return FitSet([FitRecord(**r) for r in doc["fits"]], dict(doc.get("failed", {})), dict(doc.get("timings", {})),
                      bool(doc.get("refine", False)))


def lift_hypotheses(
    folder: Path,
    root: Path,
    det: Detections,
    cameras: Sequence,
    model,
    prior,
    sdf,
    lift_cfg,
    point: np.ndarray,
    explicit_views: bool,
    min_views: int,
    parents: Sequence[str | None] | None = None,
    init=None,
    extra: dict[str, Any] | None = None,
    stage: int = 0,
    scene_depth: Sequence[np.ndarray] | None = None,
) -> tuple[FitSet, Any]:
    """Fit every hypothesis with at least ``min_views`` accepted views, in one batch, and write
    ``<id>/result.npz`` for each, ``lift.json`` and ``history.npz`` into ``folder``.

    Args:
        init: None (GenZI's initialisation) or a callable ``rows -> LiftInit`` giving the start of
            the fitted rows (refinement from the parents' results).
        extra: annotations stored in every result (prompt, interaction id, seed …).
        scene_depth: the scene's depth map per camera (occlusion-aware keypoint confidences).

    Returns:
        (the :class:`FitSet`, the :class:`~inhabit.lift.LiftResult` of the batch).

    Raises:
        InputError: no hypothesis has enough accepted views (the sentence names the keypoints folder).
    """
    from inhabit.export.results import save_result
    from inhabit.lift import fit_bodies

    parents = list(parents) if parents is not None else [None] * len(det.ids)
    rows = [h for h in range(len(det.ids)) if int(det.accepted[h].sum()) >= min_views]
    failed = {det.ids[h]: f"{int(det.accepted[h].sum())} accepted views (need {min_views})"
              for h in range(len(det.ids)) if h not in rows}
    if not rows:
        raise InputError(
            f"no hypothesis has {min_views} or more views with a credible person (GenZI's rule: 13 of 17 keypoints "
            f"with confidence >= 0.25); the detections are in {folder.parent / 'keypoints'}: "
            + "; ".join(det.notes()[:3])
        )
    kps = [det.keypoints(h) for h in rows]
    res = fit_bodies(model, prior, cameras, kps, sdf, lift_cfg, point=point,
                     init=None if init is None else init(rows), valid=det.accepted[rows],
                     explicit_views=explicit_views, scene_depth=scene_depth, progress=True)
    records = []
    final = res.final_energies()
    for i, h in enumerate(rows):
        hid = det.ids[h]
        arr = res.arrays(i)
        e = {k: float(v[i]) for k, v in final.items() if np.isfinite(v[i])}
        ann = {**(extra or {}), "stage": stage, "hypothesis": hid, "parent": parents[h] or "",
               "energy_total": float(final["total"][i])}
        path = save_result(folder / hid / "result.npz",
                           {k: arr[k] for k in ("vertices", "faces", "joints", "keypoints")},
                           params=arr["params"], body_model=arr["body_model"], view_weights=arr["view_weights"],
                           body_pose_smplx=arr.get("body_pose_smplx"), extra=ann)
        used = [det.view_names[v] for v in range(len(cameras)) if res.valid[i, v]]
        records.append(FitRecord(
            id=hid, parent=parents[h], result=path.resolve().relative_to(root.resolve()).as_posix(),
            views_used=used, view_weights={det.view_names[v]: float(res.view_weights[i, v]) for v in range(len(cameras))},
            energies=e, energy_total=float(final["total"][i]), skipped_steps=int(res.skipped_steps[i]),
        ))
    fits = FitSet(records, failed, {k: float(v) for k, v in res.timings.items()}, bool(res.refine))
    fits.save(folder / "lift.json")
    hist = {k.replace("/", "__"): np.asarray(v) for k, v in res.history.items()}
    write_npz(folder / "history.npz", ids=np.array([det.ids[h] for h in rows]), **hist)
    return fits, res


def load_history(folder: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """``history.npz`` back as (ids, LiftResult.history-style dict)."""
    with np.load(folder / "history.npz", allow_pickle=False) as z:
        ids = [str(s) for s in z["ids"]]
        hist = {k.replace("__", "/"): z[k] for k in z.files if k != "ids"}
    return ids, hist
