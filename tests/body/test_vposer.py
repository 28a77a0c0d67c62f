"""VPoser V02_05 prior through a synthetic checkpoint of the official layout."""

import os
import re

import numpy as np
import pytest
import torch

from inhabit.body.prior import PosePrior, VPoserPrior
from inhabit.body.synthetic import write_synthetic_vposer
from inhabit.body.vposer import find_vposer_checkpoint, load_checkpoint_tensors, load_vposer_decoder
from inhabit.errors import InputError, MissingWeightsError


@pytest.fixture(scope="module")
def vposer_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("vposer")
    write_synthetic_vposer(d, seed=0)
    return d


def test_checkpoint_is_found_from_the_folder_or_the_file(vposer_dir):
    f = find_vposer_checkpoint(vposer_dir)
    assert f.name == "V02_05_epoch=00_val_loss=0.00.ckpt"
    assert find_vposer_checkpoint(vposer_dir / "V02_05") == f
    assert find_vposer_checkpoint(f) == f


def test_lowest_validation_loss_snapshot_wins(tmp_path):
    snap = tmp_path / "V02_05" / "snapshots"
    snap.mkdir(parents=True)
    for name in ("V02_05_epoch=12_val_loss=0.05.ckpt", "V02_05_epoch=08_val_loss=0.03.ckpt"):
        (snap / name).write_bytes(b"")
    assert find_vposer_checkpoint(tmp_path).name == "V02_05_epoch=08_val_loss=0.03.ckpt"


def test_decoder_matches_a_hand_computed_forward(vposer_dir):
    dec = load_vposer_decoder(vposer_dir, dtype=torch.float64)
    sd = load_checkpoint_tensors(find_vposer_checkpoint(vposer_dir))["state_dict"]
    W = {k.split("decoder_net.")[1]: v.double() for k, v in sd.items() if "decoder_net" in k}
    z = torch.randn(3, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lrelu = lambda x: torch.where(x > 0, x, 0.01 * x)  # noqa: E731
    h = lrelu(z @ W["0.weight"].T + W["0.bias"])
    h = lrelu(h @ W["3.weight"].T + W["3.bias"])
    m = (h @ W["5.weight"].T + W["5.bias"]).reshape(3, 21, 3, 2)
    b1 = m[..., 0] / m[..., 0].norm(dim=-1, keepdim=True)
    c2 = m[..., 1] - (b1 * m[..., 1]).sum(-1, keepdim=True) * b1
    b2 = c2 / c2.norm(dim=-1, keepdim=True)
    R = torch.stack([b1, b2, torch.linalg.cross(b1, b2)], dim=-1)
    torch.testing.assert_close(dec(z), R, atol=1e-10, rtol=0)
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(R @ R.transpose(-1, -2), eye.expand_as(R), atol=1e-10, rtol=0)


def test_prior_decodes_to_each_backend_and_gradients_reach_z(body_model, vposer_dir):
    prior = VPoserPrior(body_model, vposer_dir)
    assert isinstance(prior, PosePrior) and prior.latent_dim == 32
    z = prior.initial_latent(2, seed=1)
    np.testing.assert_allclose(z[0].numpy(), np.random.RandomState(1).randn(32), rtol=1e-6)
    z = z.clone().requires_grad_(True)
    pose = prior.decode(z)
    assert pose.shape == (2, body_model.body_pose_dim)
    torch.testing.assert_close(body_model.body_pose_to_smplx_rotvec(pose), prior.decode_rotvec(z), atol=1e-5,
                               rtol=0)
    out = body_model(body_model.default_params(2).replace(body_pose=pose))
    (out.joints.square().sum() + prior.energy(z).sum()).backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert float(prior.energy(torch.full((1, 32), 2.0))[0]) == pytest.approx(4.0)


def test_plain_state_dict_checkpoint_loads_with_weights_only(tmp_path):
    f = write_synthetic_vposer(tmp_path, seed=1, with_extras=False, latent_dim=16, hidden=64)
    dec = load_vposer_decoder(f)
    assert dec.latent_dim == 16 and dec(torch.zeros(2, 16)).shape == (2, 21, 3, 3)


def test_missing_folder_says_where_to_get_vposer(tmp_path):
    with pytest.raises(MissingWeightsError) as e:
        load_vposer_decoder(tmp_path / "vposer")
    assert "does not exist" in str(e.value) and "smpl-x.is.tue.mpg.de" in str(e.value)
    assert "V02_05/snapshots" in str(e.value) and "non-commercial" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingWeightsError, match=re.escape(f"no VPoser checkpoint (*.ckpt) in {tmp_path / 'empty'}")):
        load_vposer_decoder(tmp_path / "empty")


def test_malformed_checkpoints_name_the_file_and_key(tmp_path):
    bad_key = tmp_path / "a.ckpt"
    torch.save({"state_dict": {"vp_model.decoder_net.0.weight": torch.zeros(512, 32)}}, bad_key)
    with pytest.raises(InputError, match=re.escape(f"VPoser checkpoint {bad_key} lacks 'vp_model.decoder_net.0.bias'")):
        load_vposer_decoder(bad_key)
    f = write_synthetic_vposer(tmp_path / "b", with_extras=False)
    ck = torch.load(f, weights_only=True)
    ck["state_dict"]["vp_model.decoder_net.5.weight"] = torch.zeros(60, 512)
    torch.save(ck, f)
    with pytest.raises(InputError, match=re.escape("'vp_model.decoder_net.5.weight' has shape (60, 512), "
                                                   "expected (126, 512)")):
        load_vposer_decoder(f)
    other = tmp_path / "c.ckpt"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, other)
    with pytest.raises(InputError, match="it is not a VPoser V02_05 checkpoint"):
        load_vposer_decoder(other)
    garbage = tmp_path / "d.ckpt"
    garbage.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(InputError, match=re.escape(f"VPoser checkpoint {garbage} could not be read")):
        load_vposer_decoder(garbage)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_loading_never_runs_code_from_the_checkpoint(tmp_path):
    sentinel = tmp_path / "pwned"
    f = write_synthetic_vposer(tmp_path / "v", with_extras=False)
    ck = torch.load(f, weights_only=True)
    ck["callbacks"] = _Evil(str(sentinel))
    torch.save(ck, f)
    dec = load_vposer_decoder(f)
    assert not sentinel.exists()
    assert dec(torch.zeros(1, 32)).shape == (1, 21, 3, 3)
