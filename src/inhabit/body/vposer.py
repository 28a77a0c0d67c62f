"""VPoser V02_05 as a pose prior, from the user's own checkpoint (non-commercial licence, MPI-IS).

The decoder is re-implemented from its published architecture so that the official checkpoint's
weights load by name (no code of the VPoser package is used)::

    z (B, 32) -> Linear(32, H) -> LeakyReLU(0.01) -> Dropout(0.1) -> Linear(H, H) -> LeakyReLU(0.01)
              -> Linear(H, 21*6) -> per joint, Gram-Schmidt of the 3x2 matrix (6D continuous
              rotation, the layout of :mod:`inhabit.rotations`) -> (B, 21, 3, 3) -> axis-angle

with H = 512. In the V02_05 Lightning checkpoint (``V02_05/snapshots/*.ckpt``) the weights are
``state_dict["vp_model.decoder_net.{0,3,5}.{weight,bias}"]``; the sizes (latent, H) are read from
the file. The rotations are SMPL-X body-joint rotations (canonical axes), turned into the backend's
body pose by ``body_pose_from_smplx_rotvec``. Prior energy: ``mean(z**2)`` (GenZI).

Checkpoints are unpickled safely: ``torch.load(weights_only=True)`` first; Lightning checkpoints
that also pickle other objects (hyper-parameter containers of packages inhabit does not have) are
read with an unpickler that rebuilds tensors and replaces every other object by an inert stub, so no
code from the file ever runs.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from inhabit.errors import InputError, MissingWeightsError

VPOSER_URL = "https://smpl-x.is.tue.mpg.de"
_HOW = (f"download VPoser v2.0 (V02_05) from {VPOSER_URL} (Downloads; free registration, non-commercial "
        f"licence) and unpack it so that {{folder}}/V02_05/snapshots/*.ckpt exists (or pass its path)")
NUM_JOINTS = 21


class VPoserDecoder(nn.Module):
    """The VPoser V02_05 decoder (see the module docstring). ``forward(z (B, L)) -> (B, 21, 3, 3)``."""

    def __init__(self, latent_dim: int = 32, hidden: int = 512, num_joints: int = NUM_JOINTS) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_joints = num_joints
        self.decoder_net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.LeakyReLU(0.01),
            nn.Dropout(0.1),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.01),
            nn.Linear(hidden, num_joints * 6),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        from inhabit.rotations import rotation6d_to_rotmat

        r6 = self.decoder_net(z).reshape(z.shape[0], self.num_joints, 6)
        return rotation6d_to_rotmat(r6)

    def decode_rotvec(self, z: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, 21, 3) SMPL-X body-joint axis-angles."""
        import roma

        return roma.rotmat_to_rotvec(self(z))


# ---------------------------------------------------------------------------------------------
# Finding and reading checkpoints


def default_vposer_dir() -> Path:
    """``$INHABIT_MODELS_DIR/vposer`` (the folder holding ``V02_05/``)."""
    from inhabit.paths import models_dir

    return models_dir() / "vposer"


def _val_loss(p: Path) -> float:
    m = re.search(r"val_loss=([0-9.]+?)(?:\.ckpt|$)", p.name)
    return float(m.group(1)) if m else float("inf")


def find_vposer_checkpoint(path: str | os.PathLike | None = None) -> Path:
    """The checkpoint file: ``path`` itself when it is a file, else the snapshot with the lowest
    ``val_loss`` in ``<path>/snapshots``, ``<path>/V02_05/snapshots`` (``path`` defaults to
    :func:`default_vposer_dir`).

    Raises:
        MissingWeightsError: naming where it looked and where to get VPoser.
    """
    base = Path(path).expanduser() if path is not None else default_vposer_dir()
    if base.is_file():
        return base
    if not base.exists():
        raise MissingWeightsError(f"VPoser folder {base} does not exist; {_HOW.format(folder=base)}")
    candidates = [p for d in (base / "snapshots", base / "V02_05" / "snapshots", base)
                  for p in sorted(d.glob("*.ckpt")) if d.is_dir()]
    if not candidates:
        raise MissingWeightsError(f"no VPoser checkpoint (*.ckpt) in {base}, {base}/snapshots or "
                                  f"{base}/V02_05/snapshots; {_HOW.format(folder=base)}")
    return min(candidates, key=lambda p: (_val_loss(p), p.name))


class _Stub:
    """Stands in for any non-tensor object of a checkpoint; accepts and ignores whatever pickle does."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        self.__dict__["_state"] = state

    def __setitem__(self, key, value) -> None:
        pass

    def append(self, value) -> None:
        pass

    def extend(self, values) -> None:
        pass


_SAFE_BUILTINS = {"set", "frozenset", "tuple", "list", "dict", "slice", "complex", "bytearray", "int", "float",
                  "str", "bool"}


class _StubUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name.startswith("_rebuild_"):
            return super().find_class(module, name)
        if module == "torch._tensor" and name == "_rebuild_from_type_v2":
            return super().find_class(module, name)
        if module == "torch" and (name in ("Size", "device", "Tensor") or isinstance(getattr(torch, name, None),
                                                                                    torch.dtype)):
            return super().find_class(module, name)
        if module == "torch.nn.parameter" and name == "Parameter":
            return super().find_class(module, name)
        if (module, name) == ("collections", "OrderedDict"):
            return super().find_class(module, name)
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        return _Stub


class _StubPickleModule:
    """A ``pickle_module`` for ``torch.load``: tensors load, every other global becomes a :class:`_Stub`."""

    Unpickler = _StubUnpickler
    __name__ = "inhabit_stub_pickle"

    @staticmethod
    def load(*args, **kwargs):  # pragma: no cover - torch only uses Unpickler
        raise NotImplementedError


def load_checkpoint_tensors(path: str | os.PathLike) -> dict:
    """Read a torch checkpoint without running code from it (see the module docstring)."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError):
        pass  # non-tensor globals: read again with the stub unpickler
    except (OSError, EOFError) as e:
        raise InputError(f"VPoser checkpoint {path} could not be read ({type(e).__name__}: {e}); "
                         f"re-download it from {VPOSER_URL}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_StubPickleModule)
    except Exception as e:
        raise InputError(f"VPoser checkpoint {path} could not be read ({type(e).__name__}: {e}); "
                         f"re-download it from {VPOSER_URL}") from None


def load_vposer_decoder(path: str | os.PathLike | None = None, device: torch.device | str = "cpu",
                        dtype: torch.dtype = torch.float32) -> VPoserDecoder:
    """The V02_05 decoder with the checkpoint's weights, in eval mode with frozen weights.

    Raises:
        MissingWeightsError: no checkpoint where expected.
        InputError: unreadable file, or missing/mis-shaped decoder weights (names the key).
    """
    ckpt_path = find_vposer_checkpoint(path)
    ckpt = load_checkpoint_tensors(ckpt_path)
    sd = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict):
        raise InputError(f"VPoser checkpoint {ckpt_path} holds no state_dict; expected the V02_05 snapshot "
                         f"from {VPOSER_URL}")
    prefix = next((p for p in ("vp_model.decoder_net.", "decoder_net.") if f"{p}0.weight" in sd), None)
    if prefix is None:
        raise InputError(f"VPoser checkpoint {ckpt_path} lacks 'vp_model.decoder_net.0.weight'; it is not a "
                         f"VPoser V02_05 checkpoint (get it from {VPOSER_URL})")
    w0 = sd[f"{prefix}0.weight"]
    if not torch.is_tensor(w0) or w0.ndim != 2:
        raise InputError(f"VPoser checkpoint {ckpt_path}: '{prefix}0.weight' is not a 2-D tensor")
    hidden, latent = int(w0.shape[0]), int(w0.shape[1])
    expected = {"0.weight": (hidden, latent), "0.bias": (hidden,), "3.weight": (hidden, hidden), "3.bias": (hidden,),
                "5.weight": (NUM_JOINTS * 6, hidden), "5.bias": (NUM_JOINTS * 6,)}
    state = {}
    for key, shape in expected.items():
        t = sd.get(prefix + key)
        if not torch.is_tensor(t):
            raise InputError(f"VPoser checkpoint {ckpt_path} lacks '{prefix}{key}'; expected a VPoser V02_05 "
                             f"checkpoint from {VPOSER_URL}")
        if tuple(t.shape) != shape:
            raise InputError(f"VPoser checkpoint {ckpt_path}: '{prefix}{key}' has shape {tuple(t.shape)}, "
                             f"expected {shape}")
        if not torch.isfinite(t).all():
            raise InputError(f"VPoser checkpoint {ckpt_path}: '{prefix}{key}' contains NaN or infinite values")
        state[f"decoder_net.{key}"] = t
    dec = VPoserDecoder(latent, hidden)
    dec.load_state_dict(state)
    dec.eval().requires_grad_(False)
    return dec.to(device=device, dtype=dtype)


def doctor_status():
    """``inhabit doctor``: is a VPoser checkpoint found (and where is it expected)?"""
    from inhabit.weights import WeightStatus

    folder = default_vposer_dir()
    try:
        p = find_vposer_checkpoint(folder)
    except MissingWeightsError:
        return [WeightStatus("pose prior (VPoser V02_05, optional)", "V02_05", False,
                             f"{folder}/V02_05/snapshots/*.ckpt ($INHABIT_MODELS_DIR/vposer)", _HOW.format(folder=folder))]
    return [WeightStatus("pose prior (VPoser V02_05, optional)", "V02_05", True, str(p), "found")]
