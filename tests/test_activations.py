"""Feature maps, Grad-CAM and augmented copies (nets/inspect/featuremaps.py)."""
import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from nets.inspect.featuremaps import (
    SMALL_STEM,
    STEM,
    activation_maps,
    augmented_copies,
    channel_tiles,
    grad_cam,
    imagenet_classes,
    imagenet_from_bytes,
    last_conv_layer,
    layer_views,
    probe_layers,
    tile_grid,
    to_chw,
    top_channels,
)
from nets.engine.augment import augment
from nets.engine.data import load_dataset
from nets.engine.models import build_model
from nets.engine.pretrained import PretrainedError
from nets.inspect.preprocess import normalise
from nets.runs import DEFAULT_ROOT, get_run, load_model

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


def test_resnet18_maps_and_grad_cam_at_224x224():
    torch.manual_seed(0)
    model = build_model("resnet18", (3, 224, 224), 1000)  # torchvision's 7×7/2 stem and max-pool
    x = torch.randn(1, 3, 224, 224)
    s = shapes(model, x)
    assert list(s) == [STEM] + BLOCKS
    assert s[STEM] == (64, 56, 56) and s["layer2.1"] == (128, 28, 28) and s["layer4.1"] == (512, 7, 7)
    heat = grad_cam(model, x, target=7)
    assert heat.shape == (224, 224) and heat.min() >= 0 and heat.max() in (0.0, 1.0)


def test_hooks_removed_and_mode_restored(resnet32):
    resnet32.train()
    before = resnet32.bn1.running_mean.clone()
    activation_maps(resnet32, torch.randn(1, 3, 32, 32))
    assert all(m.training for m in resnet32.modules()) and no_hooks(resnet32)
    assert torch.equal(resnet32.bn1.running_mean, before)     # evaluated in eval mode: stats untouched
    resnet32.eval()
    grad_cam(resnet32, torch.randn(1, 3, 32, 32), 3)
    assert not any(m.training for m in resnet32.modules()) and no_hooks(resnet32)
    assert all(p.grad is None for p in resnet32.parameters())


def test_grad_cam_shape_and_range(resnet32):
    assert last_conv_layer(resnet32) is resnet32.layer4[-1]
    heat = grad_cam(resnet32, torch.randn(1, 3, 32, 32), target=2)
    assert heat.shape == (32, 32) and heat.dtype == np.float32
    assert heat.min() >= 0 and (heat.max() == pytest.approx(1.0) or not heat.any())
    with pytest.raises(ValueError, match="has 10 classes"):
        grad_cam(resnet32, torch.randn(1, 3, 32, 32), target=10)


def test_grad_cam_finds_the_evidence_and_drops_negative_evidence():
    # Class 0's score is the mean brightness, class 1's its negative: Grad-CAM for class 0 lights
    # up the bright patch, and for class 1 everything counts against it, so ReLU leaves zeros.
    conv = nn.Conv2d(1, 1, 1)
    fc = nn.Linear(1, 2)
    with torch.no_grad():
        conv.weight.fill_(1.0), conv.bias.zero_()
        fc.weight.copy_(torch.tensor([[1.0], [-1.0]])), fc.bias.zero_()
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc)
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 2:6, 3:7] = 1.0
    heat = grad_cam(model, x, target=0)
    assert heat.shape == (16, 16) and heat.max() == pytest.approx(1.0)
    assert heat[2:6, 3:7].mean() > 0.9 and heat[10:, 10:].max() < 0.05
    assert not grad_cam(model, x, target=1).any()


def test_small_cnns_show_their_rectified_convolutions():
    lenet = build_model("lenet", (1, 28, 28), 10)      # conv · pool · relu · conv · dropout · pool · relu
    layers = probe_layers(lenet)
    assert [m for _, m in layers] == [lenet[2], lenet[6]]
    assert [n for n, _ in layers] == ["conv1 (model[0:3]: Conv2d 1→10 5×5 → MaxPool2d → ReLU)",
                                      "conv2 (model[3:7]: Conv2d 10→20 5×5 → MaxPool2d → ReLU)"]
    assert last_conv_layer(lenet) is lenet[6]
    assert list(shapes(lenet, torch.randn(1, 1, 28, 28)).values()) == [(10, 12, 12), (20, 4, 4)]
    cnn5 = build_model("cnn5", (3, 32, 32), 10, batch_norm=True)
    assert probe_layers(cnn5)[0][0] == "conv1 (model[0:3]: Conv2d 3→32 5×5 → BatchNorm2d → ReLU)"
    gated = build_model("gated-cnn", (3, 32, 32), 10)
    assert [n for n, _ in probe_layers(gated)][1] == "conv2 (model[2]: GatedConv 32→64 5×5)"
    assert grad_cam(gated, torch.randn(1, 3, 32, 32), 1).shape == (32, 32)
    with pytest.raises(ValueError, match="no convolutional layer"):
        last_conv_layer(build_model("mlp", (1, 28, 28), 10))


def test_grad_cam_of_the_shipped_lenet_sees_its_digits():
    # On raw (pre-ReLU) conv outputs this map was all zero for every digit: keep it rectified.
    run = get_run(DEFAULT_ROOT, "lenet-mnist-mini")
    model, data = load_model(run), load_dataset("mnist-mini")
    for i in range(3):
        x = normalise(data.x_test[i].numpy(), run.info["mean"], run.info["std"])
        heat = grad_cam(model, x, int(model(x).argmax()))
        assert heat.shape == (28, 28) and heat.max() == pytest.approx(1.0) and heat.min() >= 0


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


def test_augmented_copies_are_the_engines_transforms():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)
    out = augmented_copies(image, ["crop", "flip", "jitter"], 12, seed=5)
    assert out.shape == (12, 3, 20, 24) and out.dtype == np.uint8
    batch = torch.from_numpy(image).float().div(255).repeat(12, 1, 1, 1)
    same = augment(batch, ["crop", "flip", "jitter"], torch.Generator().manual_seed(5))
    assert np.array_equal(out, same.mul(255).round().to(torch.uint8).numpy())
    assert np.array_equal(out, augmented_copies(image, ["crop", "flip", "jitter"], 12, seed=5))
    assert not np.array_equal(out, augmented_copies(image, ["crop", "flip", "jitter"], 12, seed=6))
    assert (augmented_copies(image, [], 3, 0) == image).all()
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        augmented_copies(image, ["blur"], 2, 0)


def test_to_chw():
    gray = Image.fromarray(np.zeros((30, 40), np.uint8))
    assert to_chw(gray).shape == (1, 30, 40)
    assert to_chw(Image.fromarray(np.zeros((300, 100, 3), np.uint8)), max_side=60).shape == (3, 60, 20)


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
