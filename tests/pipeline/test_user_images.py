"""``--images DIR``: the naming scheme, and one clear sentence for every folder problem."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inhabit.camera.io import write_cameras_json
from inhabit.camera.views import cameras_looking_at
from inhabit.errors import InputError
from inhabit.io import write_image
from inhabit.pipeline.user_images import discover_user_images


def _folder(tmp_path, size=(64, 48), selection="genzi"):
    cams = cameras_looking_at(np.zeros(3), np.array([[0, -2, 1], [2, 0, 1], [0, 2, 1.0]]), 60.0, size)
    write_cameras_json(tmp_path / "cameras.json", cams, np.zeros(3), extra={"selection": selection})
    return cams


def _img(path, w=64, h=48):
    return write_image(path, np.full((h, w, 3), 128, np.uint8))


def test_plain_view_images_are_hypothesis_zero(tmp_path):
    _folder(tmp_path)
    for n in ("view000", "view001"):
        _img(tmp_path / f"{n}.png")
    u = discover_user_images(tmp_path)
    assert u.hypotheses == [0] and not u.explicit_views
    assert [p.name if p else None for p in u.files[0]] == ["view000.png", "view001.png", None]
    assert u.notes == ["hypothesis 0: no image for view view002"]
    assert u.sizes[0][0] == (64, 48)


def test_numbered_hypotheses_and_subfolders(tmp_path):
    _folder(tmp_path, selection="explicit")
    _img(tmp_path / "view000.png")  # the scene render `inhabit views` wrote: replaced by _h0
    _img(tmp_path / "view000_h0.png")
    _img(tmp_path / "view001_h0.jpg")
    _img(tmp_path / "inpaint2" / "view002.png", 128, 96)  # other size, same aspect: fine
    u = discover_user_images(tmp_path)
    assert u.hypotheses == [0, 2] and u.explicit_views
    assert [p.name if p else None for p in u.files[0]] == ["view000_h0.png", "view001_h0.jpg", None]
    assert [p.name if p else None for p in u.files[1]] == [None, None, "view002.png"]
    assert u.sizes[1][2] == (128, 96)
    h1 = u.content_hash()
    _img(tmp_path / "view000_h0.png", 64, 48).write_bytes((tmp_path / "view001_h0.jpg").read_bytes())
    assert u.content_hash() != h1  # the stage key follows the image contents


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match=r"--images folder .*nope does not exist"):
        discover_user_images(tmp_path / "nope")


def test_a_file_instead_of_a_folder(tmp_path):
    f = _img(tmp_path / "x.png")
    with pytest.raises(InputError, match=r"--images .*x\.png is not a folder"):
        discover_user_images(f)


def test_no_cameras_json(tmp_path):
    with pytest.raises(InputError, match=r"has no cameras\.json; write one with `inhabit views --out"):
        discover_user_images(tmp_path)


def test_broken_cameras_json(tmp_path):
    (tmp_path / "cameras.json").write_text("{not json")
    with pytest.raises(InputError, match=r"cameras file .*cameras\.json is not valid JSON"):
        discover_user_images(tmp_path)
    (tmp_path / "cameras.json").write_text(json.dumps({"format": "inhabit.cameras/1", "views": []}))
    with pytest.raises(InputError, match=r"'views' must be a non-empty list"):
        discover_user_images(tmp_path)


def test_no_images(tmp_path):
    _folder(tmp_path)
    with pytest.raises(InputError, match=r"holds no image for any view of its cameras\.json \(expected e\.g\. "
                                         r"view000\.png or view000_h0\.png\)"):
        discover_user_images(tmp_path)


def test_unreadable_image(tmp_path):
    _folder(tmp_path)
    (tmp_path / "view000_h0.png").write_bytes(b"not a png at all")
    with pytest.raises(InputError, match=r"image .*view000_h0\.png could not be read as an image"):
        discover_user_images(tmp_path)


def test_aspect_ratio_mismatch(tmp_path):
    _folder(tmp_path)
    _img(tmp_path / "view001_h0.png", 64, 64)
    with pytest.raises(InputError, match=r"view001_h0\.png is 64x64 but camera 'view001' of .*cameras\.json is 64x48; "
                                         r"the aspect ratios must match"):
        discover_user_images(tmp_path)
