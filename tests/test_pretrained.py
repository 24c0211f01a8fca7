import pytest
import torch
from torchvision import models

from nets.engine.pretrained import (PretrainedError, have_weights, imagenet_normalisation, imagenet_resnet,
                             load_imagenet_state, weights_path)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_weights_live_in_torchs_cache(torch_home):
    path = weights_path("resnet18")
    assert path == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert not have_weights("resnet18")


def test_state_dict_in_the_cache_is_loaded(torch_home):
    torch.manual_seed(0)
    reference = models.resnet18(weights=None)
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    net = imagenet_resnet("resnet18", download=False)
    assert torch.equal(net.conv1.weight, reference.conv1.weight) and net.fc.out_features == 1000


def test_missing_weights_offline_say_where(torch_home):
    with pytest.raises(PretrainedError) as e:
        load_imagenet_state("resnet34", download=False)
    assert "resnet34-b627a593.pth" in str(e.value) and str(torch_home / "hub" / "checkpoints") in str(e.value)


def test_failed_download_is_explained(torch_home, monkeypatch):
    enum = models.ResNet18_Weights.IMAGENET1K_V1
    monkeypatch.setattr(type(enum), "get_state_dict", lambda self, **kw: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(PretrainedError, match="could not be downloaded.*offline"):
        load_imagenet_state("resnet18")


def test_wrong_state_dict_names_the_keys(torch_home):
    wrong = models.resnet34(weights=None).state_dict()
    with pytest.raises(PretrainedError, match="unexpected: layer1.2"):
        imagenet_resnet("resnet18", state=wrong)


def test_imagenet_normalisation():
    mean, std = imagenet_normalisation()
    assert mean == pytest.approx([0.485, 0.456, 0.406]) and std == pytest.approx([0.229, 0.224, 0.225])


def test_uploaded_state_dict_is_checked_then_installed(torch_home, tmp_path):
    import io

    from nets.engine.pretrained import install_state_dict
    from types import SimpleNamespace
    lecturer = SimpleNamespace(everything=True, lecturer=True)  # what nets.runs.access.Access says of the lecturer
    buf = io.BytesIO()
    torch.save(models.resnet18(weights=None).state_dict(), buf)
    path = install_state_dict("resnet18", buf.getvalue(), lecturer)
    assert path == weights_path("resnet18") and have_weights("resnet18")
    wrong = io.BytesIO()
    torch.save(models.resnet34(weights=None).state_dict(), wrong)
    with pytest.raises(PretrainedError, match="missing: layer1.2.conv1.weight"):
        install_state_dict("resnet34", buf.getvalue(), lecturer)  # an 18's weights offered as a 34's
    with pytest.raises(PretrainedError, match="uploaded file"):
        install_state_dict("resnet34", b"not a checkpoint", lecturer)
    assert not have_weights("resnet34")


def test_finetune_plan_names_what_trains():
    from nets.engine.models import finetune_plan
    rows = finetune_plan("resnet18", (3, 32, 32), 10, train_blocks=2)
    assert [r["part"] for r in rows if r["trains"]] == ["layer4.0", "layer4.1", "fc (new head)"]
    assert sum(r["parameters"] for r in rows) == 11_181_642
