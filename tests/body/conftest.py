"""Body-model fixtures: one anny model and one synthetic SMPL-X per test session."""

import pytest
import torch


@pytest.fixture(scope="session")
def anny_model():
    from inhabit.body import load_body_model

    return load_body_model("anny")


@pytest.fixture(scope="session")
def smplx_dir(tmp_path_factory):
    from inhabit.body.synthetic import write_synthetic_smplx

    folder = tmp_path_factory.mktemp("smplx_models")
    write_synthetic_smplx(folder, seed=0)
    return folder


@pytest.fixture(scope="session")
def smplx_model(smplx_dir):
    from inhabit.body import load_body_model

    return load_body_model("smplx", model_path=smplx_dir)


@pytest.fixture(scope="session", params=["anny", "smplx"])
def body_model(request):
    """Every backend, for the shared protocol suite."""
    return request.getfixturevalue(f"{request.param}_model")


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)
