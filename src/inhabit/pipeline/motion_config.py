"""Settings of the motion job (``inhabit motion``): the stage configs composed, two presets, YAML.

A :class:`MotionConfig` is a frozen tree of dataclasses, like the pose job's
:class:`~inhabit.config.PoseConfig`, and reuses its machinery (:func:`inhabit.config.update_dataclass`
for YAML overrides with one-sentence errors naming the dotted field, :func:`inhabit.config.to_plain`,
:func:`inhabit.config.stable_hash`) and its :class:`~inhabit.config.BodyConfig` and
:class:`~inhabit.config.KeypointConfig`. The stage configs keep living next to their code:
``track`` is :class:`inhabit.track.config.TrackConfig`, ``camera`` is
:class:`inhabit.track.camera_select.CameraArrayConfig`, ``video.generator`` is
:class:`inhabit.imagine.video.VideoConfig`, ``segment.difference`` is
:class:`inhabit.perceive.segment.DifferenceConfig`.

Presets
    ``zerohsi``: the paper's numbers (appendix C.2: 51 frames, camera 30 iterations, 300 per
    frame, refinement 1000) at 512², the scene sampled every 2 cm, the human every 1.2 cm.
    ``fast``: CPU previews: the ``fast`` track preset, 256², 26 frames, coarser Gaussians.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from inhabit.config import (
    BodyConfig,
    KeypointConfig,
    check_device_and_seed,
    check_field,
    load_config_yaml,
    to_plain,
    update_dataclass,
)
from inhabit.errors import InputError
from inhabit.imagine.video import VideoConfig
from inhabit.perceive.segment import SAM2_DEFAULT_CONFIG, DifferenceConfig
from inhabit.track.camera_select import CameraArrayConfig
from inhabit.track.config import TrackConfig, track_preset

MOTION_CONFIG_FORMAT = "inhabit.motion-config/1"
MOTION_PRESETS: tuple[str, ...] = ("zerohsi", "fast")


def _positive(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


@dataclass(frozen=True)
class AssetConfig:
    """How scenes and objects become Gaussians and signed distances.

    Attributes:
        scene_spacing: a mesh scene is sampled into flat Gaussians every this many metres
            (:func:`~inhabit.scene.gaussians_mesh.gaussians_from_mesh`).
        object_spacing: the same for a mesh object.
        sdf_voxel: voxel of the signed distance of a Gaussian (3DGS) scene (mesh scenes use the
            exact mesh distance).
        sdf_extent: side of the box (metres, centred on the initial pelvis) in which a Gaussian
            scene's signed distance is built.
        seed: sampling seed.
    """

    scene_spacing: float = 0.02
    object_spacing: float = 0.01
    sdf_voxel: float = 0.04
    sdf_extent: float = 6.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("scene_spacing", "object_spacing", "sdf_voxel", "sdf_extent"):
            check_field(_positive(getattr(self, name)), f"assets.{name}", getattr(self, name), "a positive number of metres")
        check_field(self.sdf_voxel < self.sdf_extent, "assets.sdf_voxel", self.sdf_voxel, "smaller than assets.sdf_extent")


@dataclass(frozen=True)
class HumanConfig:
    """The Gaussian human (:class:`~inhabit.body.gaussian_human.GaussianHuman`).

    Attributes:
        spacing: mean distance between its Gaussians (metres; anny ≈ 13.8k at 1.2 cm).
        stripes: relative amplitude of the horizontal stripes of the clothed appearance (texture
            inside each garment helps photometric alignment; 0 = plain colours).
        seed: sampling seed.
    """

    spacing: float = 0.012
    stripes: float = 0.12
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(_positive(self.spacing), "human.spacing", self.spacing, "a positive number of metres")
        check_field(0.0 <= self.stripes < 1.0, "human.stripes", self.stripes, "a number in [0, 1)")


@dataclass(frozen=True)
class VideoJobConfig:
    """Where the clip comes from and how it is brought to the render.

    Attributes:
        num_frames, every, target_fps: sub-sampling, at most one (ZeroHSI: 153 → 51 frames, every
            3rd; :func:`~inhabit.imagine.video.subsample_indices`). Applied to user and generated
            clips alike.
        fps: frame rate of a frame folder without ``fps.txt`` (None: read from the folder).
        resize: frames of another size are brought to the render's: ``crop`` (cover, centre crop),
            ``fit`` (letterbox), ``stretch``.
        first_frame_max_mae: above this mean absolute difference (of 255, on 64-px thumbnails)
            between the clip's first frame and ``frame0.png`` the run notes that the clip was
            probably not made from this render.
        person_check_frames: a person must be found in one of the clip's first this-many frames.
        generator: the image-to-video model of ``--generate``.
    """

    num_frames: int | None = 51
    every: int | None = None
    target_fps: float | None = None
    fps: float | None = None
    resize: Literal["crop", "fit", "stretch"] = "crop"
    first_frame_max_mae: float = 30.0
    person_check_frames: int = 5
    generator: VideoConfig = field(default_factory=VideoConfig)

    def __post_init__(self) -> None:
        rules = [n for n in ("num_frames", "every", "target_fps") if getattr(self, n) is not None]
        check_field(len(rules) <= 1, "video", {n: getattr(self, n) for n in rules},
                    "at most one of num_frames, every and target_fps (set the others to null)")
        check_field(self.num_frames is None or (isinstance(self.num_frames, int) and self.num_frames >= 2),
                    "video.num_frames", self.num_frames, "null or an integer of at least 2")
        check_field(self.every is None or (isinstance(self.every, int) and self.every >= 1), "video.every", self.every,
                    "null or a positive integer")
        for name in ("target_fps", "fps"):
            v = getattr(self, name)
            check_field(v is None or _positive(v), f"video.{name}", v, "null or a positive number")
        check_field(self.resize in ("crop", "fit", "stretch"), "video.resize", self.resize, "'crop', 'fit' or 'stretch'")
        check_field(self.first_frame_max_mae > 0, "video.first_frame_max_mae", self.first_frame_max_mae, "a positive number")
        check_field(isinstance(self.person_check_frames, int) and self.person_check_frames >= 1,
                    "video.person_check_frames", self.person_check_frames, "a positive integer")


@dataclass(frozen=True)
class SegmentConfig:
    """Human and object masks per frame.

    Attributes:
        method: ``auto`` (SAM2 when the package and checkpoint are found, else ``difference``),
            ``difference`` (rendered-background difference + person mask, no downloads) or
            ``sam2`` (missing package or checkpoint is an error).
        sam2_checkpoint: the SAM2 ``.pt`` (None: ``$INHABIT_MODELS_DIR/sam2/sam2.1_hiera_small.pt``).
        sam2_config: the matching config name inside the ``sam2`` package.
        difference: thresholds of the difference segmenter.
        camera_prepass: with the difference segmenter, render each frame's background from a camera
            tracked frame by frame on the masks so far (else every background is rendered from the
            initial camera, which is right only for a static camera).
        num_points: SAM2 prompt points per region (farthest-point samples of the frame-0 masks).
    """

    method: Literal["auto", "difference", "sam2"] = "auto"
    sam2_checkpoint: str | None = None
    sam2_config: str = SAM2_DEFAULT_CONFIG
    difference: DifferenceConfig = field(default_factory=DifferenceConfig)
    camera_prepass: bool = True
    num_points: int = 3

    def __post_init__(self) -> None:
        check_field(self.method in ("auto", "difference", "sam2"), "segment.method", self.method,
                    "'auto', 'difference' or 'sam2'")
        check_field(isinstance(self.num_points, int) and self.num_points >= 1, "segment.num_points", self.num_points,
                    "a positive integer")


@dataclass(frozen=True)
class StagesConfig:
    """Which optional steps run.

    Attributes:
        refine: run the sequence refinement (§3.5) after the per-frame fit.
        reselect_camera: each chained clip picks its initial camera again (appendix C.3) from the
            previous clip's last state, as the paper repeats the whole process per clip (C.7);
            false keeps the previous clip's last camera.
        keypoints: detect 2D keypoints per frame to initialise the body pose (§3.4).
    """

    refine: bool = True
    reselect_camera: bool = True
    keypoints: bool = True


@dataclass(frozen=True)
class MotionExportConfig:
    """Outputs of the run.

    Attributes:
        glb: write ``motion.glb``.
        videos: write the mp4s (input, reconstruction, side view, comparison).
        side_view: render the side view (mesh renderer for mesh scenes, the splatter otherwise).
        side_azimuth_deg, side_elevation_deg: direction of the side camera relative to the video
            camera's horizontal viewing direction.
        video_quality: imageio/ffmpeg quality 0–10.
        sheet_frames: frames in the contact sheet of input vs reconstruction.
        sheet_tile: longer side (pixels) of each picture in the sheets.
        glb_max_points: at most this many Gaussian centres of a 3DGS scene go into the glTF.
        clip: CLIP metrics of the reconstruction frames: ``auto`` (when the model is found),
            ``never``; clip_model: model ID or folder.
        embed_images: embed pictures in ``report.html`` (one file to mail).
    """

    glb: bool = True
    videos: bool = True
    side_view: bool = True
    side_azimuth_deg: float = 90.0
    side_elevation_deg: float = 20.0
    video_quality: int = 8
    sheet_frames: int = 8
    sheet_tile: int = 192
    glb_max_points: int = 200_000
    clip: Literal["auto", "never"] = "auto"
    clip_model: str = "openai/clip-vit-base-patch32"
    embed_images: bool = False

    def __post_init__(self) -> None:
        check_field(0 <= self.video_quality <= 10, "export.video_quality", self.video_quality, "an integer from 0 to 10")
        check_field(self.sheet_frames >= 1, "export.sheet_frames", self.sheet_frames, "a positive integer")
        check_field(self.sheet_tile >= 16, "export.sheet_tile", self.sheet_tile, "at least 16 pixels")
        check_field(self.glb_max_points >= 1, "export.glb_max_points", self.glb_max_points, "a positive integer")


@dataclass(frozen=True)
class MotionConfig:
    """Every setting of the motion job (the resolved ``config.yaml`` of a run, minus the inputs).

    Attributes:
        preset: the preset this config started from (informative).
        seed: seed of the run (video generation, sampling); a clip of the init file may set its own.
        device: ``auto``, ``cpu`` or ``cuda`` (body model, splatting, video generation).
        body: body model and pose prior (:class:`~inhabit.config.BodyConfig`).
        assets, human, camera, video, segment, keypoints, track, stages, export: the stage settings.
    """

    preset: str = "zerohsi"
    seed: int = 1
    device: str = "auto"
    body: BodyConfig = field(default_factory=BodyConfig)
    assets: AssetConfig = field(default_factory=AssetConfig)
    human: HumanConfig = field(default_factory=HumanConfig)
    camera: CameraArrayConfig = field(default_factory=CameraArrayConfig)
    video: VideoJobConfig = field(default_factory=VideoJobConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    keypoints: KeypointConfig = field(default_factory=KeypointConfig)
    track: TrackConfig = field(default_factory=TrackConfig)
    stages: StagesConfig = field(default_factory=StagesConfig)
    export: MotionExportConfig = field(default_factory=MotionExportConfig)

    def __post_init__(self) -> None:
        check_device_and_seed(self.device, self.seed)

    def replace(self, **changes: Any) -> MotionConfig:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "") -> MotionConfig:
        """A copy with fields replaced from a nested mapping (YAML); InputError names the dotted field.

        Changing ``video.generator.backend`` resets the backend-dependent defaults (model ID, frame
        count, fps, guidance, area) that the override does not set itself, so ``backend: cogvideox``
        alone selects CogVideoX's model rather than keeping Wan's.
        """
        out = update_dataclass(self, overrides, source=source)
        gen = (overrides.get("video") or {}).get("generator") if isinstance(overrides.get("video"), Mapping) else None
        if isinstance(gen, Mapping) and "backend" in gen and gen["backend"] != self.video.generator.backend:
            reset = {k: None for k in ("model_id", "num_frames", "fps", "guidance_scale", "max_area") if k not in gen}
            generator = dataclasses.replace(out.video.generator, **reset)
            out = dataclasses.replace(out, video=dataclasses.replace(out.video, generator=generator))
        return out

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


def motion_preset(name: str, overrides: Mapping[str, Any] | None = None) -> MotionConfig:
    """The named preset (``zerohsi``, ``fast``), optionally with YAML-style overrides.

    Raises:
        InputError: unknown preset, or a bad override (naming the field).
    """
    if name == "zerohsi":
        cfg = MotionConfig(preset="zerohsi", track=track_preset("zerohsi"))
    elif name == "fast":
        cfg = MotionConfig(
            preset="fast", track=track_preset("fast"),
            assets=AssetConfig(scene_spacing=0.03, object_spacing=0.015),
            human=HumanConfig(spacing=0.02),
            camera=CameraArrayConfig(width=256, height=256, test_size=96),
            video=VideoJobConfig(num_frames=26),
        )
    else:
        raise InputError(f"unknown motion preset {name!r}; expected one of {', '.join(MOTION_PRESETS)}")
    return cfg.with_overrides(overrides) if overrides else cfg


def resolve_motion_config(preset: str = "zerohsi", config_file: str | Path | None = None,
                          overrides: Mapping[str, Any] | None = None) -> MotionConfig:
    """Preset → YAML file → command-line overrides, each on top of the last. A run's resolved
    ``config.yaml`` can be passed back as is (its ``format``, ``inputs``, ``scene``, ``prompt`` and
    ``init`` keys are ignored here)."""
    data = load_config_yaml(config_file) if config_file is not None else {}
    data = {k: v for k, v in data.items() if k not in ("format", "inputs", "scene", "prompt", "init")}
    name = data.pop("preset", preset)
    if not isinstance(name, str):
        raise InputError(f"{config_file}: 'preset' must be a preset name, got {name!r}")
    cfg = motion_preset(name)
    if data:
        cfg = cfg.with_overrides(data, source=str(config_file))
    if overrides:
        cfg = cfg.with_overrides(overrides, source="command line")
    return cfg


def dump_motion_config(cfg: MotionConfig, inputs: Mapping[str, Any] | None = None) -> str:
    """The resolved config as YAML: ``format``, the ``inputs``, then top-level ``scene``, ``prompt``
    and ``init`` (where ``inhabit eval`` looks for them), then every setting."""
    import yaml

    doc: dict[str, Any] = {"format": MOTION_CONFIG_FORMAT}
    if inputs is not None:
        doc["inputs"] = to_plain(dict(inputs))
        for key in ("scene", "prompt", "init"):
            if key in inputs:
                doc[key] = to_plain(inputs[key])
    doc.update(cfg.to_dict())
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)


__all__ = [
    "MOTION_CONFIG_FORMAT", "MOTION_PRESETS", "AssetConfig", "HumanConfig", "MotionConfig", "MotionExportConfig",
    "SegmentConfig", "StagesConfig", "VideoJobConfig", "dump_motion_config", "motion_preset", "resolve_motion_config",
]
