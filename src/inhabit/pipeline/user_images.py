"""User-supplied hypotheses (``inhabit pose --images DIR``): images made with any generator.

Folder layout::

    DIR/cameras.json          the cameras (inhabit.cameras/1, as written by ``inhabit views``)
    DIR/view000.png           hypothesis 0 of view000: the image cameras.json names for the view ...
    DIR/view000_h0.png        ... or explicitly numbered hypotheses: view000_h0, view000_h1, ...
    DIR/inpaint1/view000.png  ... or one sub-folder per hypothesis (GenZI's ``inpaint{k}`` layout)

Hypothesis ``k`` of view ``v`` is the first of ``v_h{k}.{png,jpg,jpeg,webp}``,
``inpaint{k}/v.{png,jpg,jpeg,webp}`` that exists; for k = 0 the image named in cameras.json is
used when neither exists. A view may lack some hypotheses (that view then does not count for
them). Images may be larger or smaller than the camera's image size if the aspect ratio is the
same (keypoints are rescaled to the camera's pixels).

The usual workflow is ``inhabit views --out DIR`` (renders + cameras.json), inpaint the renders
with any tool, save the results next to them as ``view000_h0.png`` …, then
``inhabit pose --scene S --images DIR``. A plain render without a person is simply dropped by
the keypoint detector with a note.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from inhabit.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
ASPECT_TOLERANCE = 0.01
"""Relative difference of aspect ratio accepted between an image and its camera."""


@dataclass
class UserImages:
    """What a ``--images`` folder holds.

    Attributes:
        folder: the folder.
        cameras: the :class:`~inhabit.camera.io.CameraSet` of its cameras.json.
        hypotheses: hypothesis numbers found, sorted (``[0, 1, 2]``).
        files: ``files[k][v]`` = image path of hypothesis ``hypotheses[k]`` in view ``v``, or None.
        sizes: ``sizes[k][v]`` = (width, height) of that image, or None.
        explicit_views: the cameras were placed by hand (cameras.json ``"selection"`` is not
            ``"genzi"``): GenZI then starts the body at the point itself.
        notes: sentences about missing images.
    """

    folder: Path
    cameras: object
    hypotheses: list[int]
    files: list[list[Path | None]]
    sizes: list[list[tuple[int, int] | None]]
    explicit_views: bool = True
    notes: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        """Hash of every image's bytes and of cameras.json (the stage key of user images)."""
        h = hashlib.sha256()
        h.update((self.folder / "cameras.json").read_bytes())
        for k, row in zip(self.hypotheses, self.files):
            for p in row:
                h.update(f"|{k}|{p.name if p else '-'}|".encode())
                if p is not None:
                    h.update(hashlib.sha256(p.read_bytes()).digest())
        return h.hexdigest()[:24]


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise InputError(f"image {path} could not be read as an image ({type(e).__name__})") from None


def _find(folder: Path, view: str, k: int) -> Path | None:
    for stem in (f"{view}_h{k}", f"inpaint{k}/{view}"):
        for suf in IMAGE_SUFFIXES:
            p = folder / f"{stem}{suf}"
            if p.is_file():
                return p
    return None


def _numbered(folder: Path, views: list[str]) -> set[int]:
    """Hypothesis numbers that appear in file names of known views."""
    import re

    ks: set[int] = set()
    names = set(views)
    for p in folder.iterdir():
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            m = re.fullmatch(r"(.+)_h(\d+)", p.stem)
            if m and m.group(1) in names:
                ks.add(int(m.group(2)))
        elif p.is_dir():
            m = re.fullmatch(r"inpaint(\d+)", p.name)
            if m and any((p / f"{v}{s}").is_file() for v in views for s in IMAGE_SUFFIXES):
                ks.add(int(m.group(1)))
    return ks


def discover_user_images(folder: str | Path) -> UserImages:
    """Read and check a ``--images`` folder (layout in the module docstring).

    Raises:
        InputError: the folder or its cameras.json is missing or broken, no image is found for
            any view, an image cannot be read, or its aspect ratio differs from its camera's.
    """
    from inhabit.camera.io import read_cameras_json

    folder = Path(folder).expanduser()
    if not folder.exists():
        raise InputError(f"--images folder {folder} does not exist")
    if not folder.is_dir():
        raise InputError(f"--images {folder} is not a folder; expected a folder with cameras.json and one image per view")
    cj = folder / "cameras.json"
    if not cj.is_file():
        raise InputError(f"--images folder {folder} has no cameras.json; write one with `inhabit views --out {folder}` "
                         f"(format inhabit.cameras/1)")
    cams = read_cameras_json(cj, require_images=False)
    views = [c.name for c in cams.cameras]
    ks = _numbered(folder, views)
    named = [p for p in cams.image_paths]
    if not ks and any(p is not None and p.is_file() for p in named):
        ks = {0}
    if not ks:
        raise InputError(f"--images folder {folder} holds no image for any view of its cameras.json "
                         f"(expected e.g. {views[0]}.png or {views[0]}_h0.png)")
    hyps = sorted(ks)
    files: list[list[Path | None]] = []
    sizes: list[list[tuple[int, int] | None]] = []
    notes: list[str] = []
    for k in hyps:
        row: list[Path | None] = []
        srow: list[tuple[int, int] | None] = []
        for v, cam in enumerate(cams.cameras):
            p = _find(folder, cam.name, k)
            if p is None and k == 0 and named[v] is not None and named[v].is_file():
                p = named[v]
            if p is None:
                row.append(None)
                srow.append(None)
                continue
            w, h = _image_size(p)
            a_img, a_cam = w / h, cam.width / cam.height
            if abs(a_img - a_cam) > ASPECT_TOLERANCE * a_cam:
                raise InputError(f"image {p} is {w}x{h} but camera {cam.name!r} of {cj} is {cam.width}x{cam.height}; "
                                 f"the aspect ratios must match (images are rescaled, not cropped)")
            row.append(p)
            srow.append((w, h))
        missing = [cams.cameras[v].name for v, p in enumerate(row) if p is None]
        if missing:
            notes.append(f"hypothesis {k}: no image for view{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        files.append(row)
        sizes.append(srow)
    explicit = cams.extra.get("selection") != "genzi"
    return UserImages(folder, cams, hyps, files, sizes, explicit, notes)
