"""Body models (anny default, SMPL-X from user files), named poses, body parts and pose priors.

``load_body_model("anny")`` is cheap after the first call in a process (the anny core is cached per
device/dtype); no backend imports its third-party package before it is chosen.
"""

from __future__ import annotations

import torch

from inhabit.body.protocol import BodyModel, BodyOutput, BodyParams

BACKENDS = ("anny", "smplx")


def load_body_model(name: str = "anny", device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                    **kwargs) -> BodyModel:
    """Build a body model by backend name.

    Args:
        name: ``"anny"`` (default; Apache-2.0, data in the wheel) or ``"smplx"`` (user model files,
            optional extra ``inhabit[smplx]``).
        device, dtype: of parameters and outputs (float32 by default).
        **kwargs: backend options. anny: ``skinning`` (``"warp_lbs"`` | ``"lbs"``), ``phenotype``
            (dict overriding the default adult). smplx: ``model_path`` (folder or file; default
            ``$INHABIT_MODELS_DIR``), ``gender`` (``"neutral"``), ``num_betas`` (10), ``ext``.

    Raises:
        InputError: unknown backend or option values.
        MissingWeightsError: SMPL-X files or the smplx package are missing (one sentence saying where
            they were looked for and how to get them).
    """
    from inhabit.errors import InputError

    key = name.lower().replace("-", "")
    if key == "anny":
        from inhabit.body.anny_model import AnnyBody

        return AnnyBody(device=device, dtype=dtype, **kwargs)
    if key == "smplx":
        from inhabit.body.smplx_model import SMPLXBody

        return SMPLXBody(device=device, dtype=dtype, **kwargs)
    raise InputError(f"unknown body model {name!r}; expected one of {BACKENDS}")


def __getattr__(name: str):
    # Light re-exports, resolved on first use so that ``import inhabit.body`` stays cheap.
    lazy = {
        "make_pose": "inhabit.body.poses", "POSES": "inhabit.body.poses", "place_body": "inhabit.body.poses",
        "pose_rotvec": "inhabit.body.poses",
        "vertex_parts": "inhabit.body.parts", "PART_NAMES": "inhabit.body.parts",
        "PART_ADJACENCY": "inhabit.body.parts",
        "PosePrior": "inhabit.body.prior", "AnglePrior": "inhabit.body.prior", "VPoserPrior": "inhabit.body.prior",
        "shape_prior": "inhabit.body.prior",
    }
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module 'inhabit.body' has no attribute {name!r}")


__all__ = ["BACKENDS", "BodyModel", "BodyOutput", "BodyParams", "load_body_model"]
