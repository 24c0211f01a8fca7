"""Issue 19, item 2: the server's ImageNet weights. Installing is the lecturer's action on a server
(anyone's on a laptop), an installed file is never replaced silently, NaN/inf weights are refused."""
import io

import pytest
import torch
from torchvision import models

from nets.engine.pretrained import PretrainedError, install_state_dict, weights_path
from nets.inspect.imagenet import imagenet_from_bytes
from nets.runs.access import Access

LECTURER = Access("lecturer", True, False)
STUDENT = Access("name:alice", False, False)
SIGNED_OUT = Access("", False, False)
LAPTOP = Access("anon:" + "0" * 32, False, True)


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def state_bytes(fill=None) -> bytes:
    state = models.resnet18(weights=None).state_dict()
    if fill is not None:
        state["layer1.0.conv1.weight"].fill_(fill)
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


@pytest.mark.parametrize("fill", [float("nan"), float("inf")])
def test_weights_full_of_nan_or_inf_are_refused(fill):
    with pytest.raises(PretrainedError, match="NaN or infinite.*layer1.0.conv1.weight"):
        install_state_dict("resnet18", state_bytes(fill), LECTURER)
    assert not weights_path("resnet18").exists()
    with pytest.raises(PretrainedError, match="NaN or infinite"):  # the inspection pages' upload too
        imagenet_from_bytes("resnet18", state_bytes(fill))


@pytest.mark.parametrize("who", [STUDENT, SIGNED_OUT])
def test_a_student_or_a_visitor_cannot_install_weights_on_a_server(who):
    with pytest.raises(PretrainedError, match="Only the lecturer.*ask your lecturer"):
        install_state_dict("resnet18", state_bytes(), who)
    assert not weights_path("resnet18").exists()
    assert install_state_dict("resnet18", state_bytes(), LAPTOP).exists()  # a laptop is its user's


def test_installed_weights_are_not_overwritten_without_replace():
    path = install_state_dict("resnet18", state_bytes(), LECTURER)
    before = path.read_bytes()
    other = state_bytes(0.5)
    with pytest.raises(PretrainedError, match="installed already"):
        install_state_dict("resnet18", other, LECTURER)
    assert path.read_bytes() == before
    install_state_dict("resnet18", other, LECTURER, replace=True)
    assert path.read_bytes() == other
