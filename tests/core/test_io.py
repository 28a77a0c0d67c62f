"""Atomic writes never leave a finished-looking file behind on failure."""

import numpy as np
import pytest

from inhabit.errors import InputError
from inhabit.io import atomic_path, read_image, write_image, write_json, write_npz


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "result.npz"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_round_trips(tmp_path):
    write_npz(tmp_path / "a.npz", x=np.arange(3))
    assert np.load(tmp_path / "a.npz")["x"].tolist() == [0, 1, 2]
    write_json(tmp_path / "a.json", {"v": np.float32(1.5), "a": np.eye(2)})
    assert (tmp_path / "a.json").read_text().count("1.5") == 1
    img = np.zeros((4, 5, 3), np.float32)
    img[0, 0] = 1.0
    write_image(tmp_path / "a.png", img)
    back = read_image(tmp_path / "a.png")
    assert back.shape == (4, 5, 3) and back[0, 0, 0] == 255 and back[1, 1, 0] == 0


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"missing\.png does not exist"):
        read_image(tmp_path / "missing.png")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(InputError, match=r"bad\.png could not be read"):
        read_image(bad)


def test_atomic_files_get_umask_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o644
