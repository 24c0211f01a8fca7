"""Feature maps layer by layer (nets/inspect/featuremaps.py) and the ImageNet models they are shown
for (nets/inspect/imagenet.py)."""
import io

import numpy as np
import pytest
import torch

from nets.engine.models import build_model
from nets.engine.pretrained import PretrainedError, imagenet_classes
from nets.inspect.featuremaps import (
    SMALL_STEM,
    STEM,
    activation_maps,
    channel_tiles,
    layer_views,
    probe_layers,
    top_channels,
)
from nets.inspect.imagenet import digest, imagenet_from_bytes
from nets.inspect.pictures import tile_grid

BLOCKS = [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]


def shapes(model, x):
    return {name: tuple(t.shape) for name, t in activation_maps(model, x)}


def no_hooks(model):
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.fixture(scope="module")
def resnet32():
    torch.manual_seed(0)
    return build_model("resnet18", (3, 32, 32), 10)       # the small (CIFAR) stem


def test_resnet18_maps_at_32x32(resnet32):
    assert [n for n, _ in probe_layers(resnet32)] == [SMALL_STEM] + BLOCKS
    s = shapes(resnet32, torch.randn(1, 3, 32, 32))
    assert list(s) == [SMALL_STEM] + BLOCKS
    assert s[SMALL_STEM] == (64, 32, 32) and s["layer1.1"] == (64, 32, 32)
    assert s["layer2.0"] == (128, 16, 16) and s["layer3.1"] == (256, 8, 8) and s["layer4.1"] == (512, 4, 4)


def test_resnet18_maps_at_224x224():
    torch.manual_seed(0)
    model = build_model("resnet18", (3, 224, 224), 1000)  # torchvision's 7×7/2 stem and max-pool
    s = shapes(model, torch.randn(1, 3, 224, 224))
    assert list(s) == [STEM] + BLOCKS
    assert s[STEM] == (64, 56, 56) and s["layer2.1"] == (128, 28, 28) and s["layer4.1"] == (512, 7, 7)


def test_hooks_removed_and_mode_restored(resnet32):
    resnet32.train()
    before = resnet32.bn1.running_mean.clone()
    activation_maps(resnet32, torch.randn(1, 3, 32, 32))
    assert all(m.training for m in resnet32.modules()) and no_hooks(resnet32)
    assert torch.equal(resnet32.bn1.running_mean, before)     # evaluated in eval mode: stats untouched
    resnet32.eval()


def test_small_cnns_show_their_rectified_convolutions():
    lenet = build_model("lenet", (1, 28, 28), 10)      # conv · pool · relu · conv · dropout · pool · relu
    layers = probe_layers(lenet)
    assert [m for _, m in layers] == [lenet[2], lenet[6]]
    assert [n for n, _ in layers] == ["conv1 (model[0:3]: Conv2d 1→10 5×5 → MaxPool2d → ReLU)",
                                      "conv2 (model[3:7]: Conv2d 10→20 5×5 → MaxPool2d → ReLU)"]
    assert list(shapes(lenet, torch.randn(1, 1, 28, 28)).values()) == [(10, 12, 12), (20, 4, 4)]
    cnn5 = build_model("cnn5", (3, 32, 32), 10, batch_norm=True)
    assert probe_layers(cnn5)[0][0] == "conv1 (model[0:3]: Conv2d 3→32 5×5 → BatchNorm2d → ReLU)"
    gated = build_model("gated-cnn", (3, 32, 32), 10)
    assert [n for n, _ in probe_layers(gated)][1] == "conv2 (model[2]: GatedConv 32→64 5×5)"
    assert probe_layers(build_model("mlp", (1, 28, 28), 10)) == []


def test_top_channels_tiles_and_grid():
    fmap = torch.zeros(4, 4, 4)
    fmap[1] = 2.0                                  # flat but the most active
    fmap[3, 0, 0] = 5.0                            # mean 5/16
    fmap[2] = torch.arange(16.0).view(4, 4) / 100  # mean 0.075
    assert top_channels(fmap, 3) == [1, 3, 2] and top_channels(fmap, 99) == [1, 3, 2, 0]
    flat, peak, ramp = channel_tiles(fmap, [1, 3, 2], tile=96)
    assert flat.shape == (96, 96) and flat.dtype == np.uint8 and not flat.any()
    assert peak[:24, :24].min() == 255 and peak[24:, :].max() == 0    # one 4×4 cell → a 24×24 block
    assert ramp.min() == 0 and ramp.max() == 255
    grid = tile_grid([flat, peak, ramp], cols=2, gap=2)
    assert grid.shape == (2 * 96 + 2, 2 * 96 + 2) and grid[96, 0] == 128 and grid[:96, 98:].max() == 255


def test_layer_views(resnet32):
    logits, views = layer_views(resnet32, torch.randn(1, 3, 32, 32), k=16)
    assert logits.shape == (10,) and [v.name for v in views] == [SMALL_STEM] + BLOCKS
    last = views[-1]
    assert last.shape == (512, 4, 4) and len(last.channels) == 16 and last.grid.shape == (4 * 96 + 6,) * 2


def test_imagenet_weights_from_an_upload():
    assert len(imagenet_classes()) == 1000 and imagenet_classes()[0] == "tench"
    with pytest.raises(PretrainedError, match="The uploaded file is not a readable PyTorch weights file"):
        imagenet_from_bytes("resnet18", b"garbage")
    buf = io.BytesIO()
    torch.save(build_model("lenet", (1, 28, 28), 10).state_dict(), buf)
    with pytest.raises(PretrainedError, match="does not fit"):
        imagenet_from_bytes("resnet18", buf.getvalue())
    torch.manual_seed(1)
    reference = build_model("resnet18", (3, 224, 224), 1000)
    buf = io.BytesIO()
    torch.save(reference.state_dict(), buf)
    net = imagenet_from_bytes("resnet18", buf.getvalue())
    assert torch.equal(net.conv1.weight, reference.conv1.weight) and not net.training
    assert digest(buf.getvalue()) == digest(bytes(buf.getvalue())) != digest(b"other weights")
    assert len(digest(b"")) == 32
