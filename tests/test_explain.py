"""Attribution maps (Captum's and Grad-CAM) and the heat-map overlay (nets/inspect/attribution.py)."""
import numpy as np
import pytest
import torch
from torch import nn

from nets.engine.data import load_dataset
from nets.engine.models import build_model
from nets.inspect.attribution import (
    METHODS,
    attribute,
    grad_cam,
    heat_colours,
    last_conv_layer,
    normalise_map,
    occlusion_window,
    overlay,
)
from nets.inspect.prediction import logits
from nets.inspect.preprocess import normalise
from nets.runs import DEFAULT_ROOT, get_run, load_model


def linear_model(weight: torch.Tensor) -> nn.Sequential:
    """z = W · flatten(x): its gradient with respect to x is exactly W."""
    k = weight.shape[0]
    model = nn.Sequential(nn.Flatten(), nn.Linear(weight[0].numel(), k, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(weight.reshape(k, -1))
    return model.eval()


@pytest.fixture(scope="module")
def tiny_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(),
                         nn.Linear(4 * 12 * 10, 3)).eval()


@pytest.mark.parametrize("method", list(METHODS))
def test_maps_are_h_by_w_in_unit_range(tiny_cnn, method):
    x = torch.randn(1, 2, 12, 10, generator=torch.Generator().manual_seed(1))
    heat = attribute(tiny_cnn, x, target=2, method=method)
    assert heat.shape == (12, 10) and heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)


def test_saliency_of_a_linear_model_is_the_weight_pattern():
    w = torch.randn(3, 2, 6, 5, generator=torch.Generator().manual_seed(2))
    x = torch.randn(1, 2, 6, 5)
    heat = attribute(linear_model(w), x, target=1, method="saliency")
    expected = w[1].abs().sum(0).numpy()
    np.testing.assert_allclose(heat, expected / expected.max(), rtol=1e-5)
    other = attribute(linear_model(w), x, target=0, method="saliency")
    assert not np.allclose(heat, other)


def test_integrated_gradients_of_a_linear_model_is_weight_times_change():
    w = torch.randn(2, 1, 5, 5, generator=torch.Generator().manual_seed(3))
    x = torch.randn(1, 1, 5, 5, generator=torch.Generator().manual_seed(4))
    base = torch.full_like(x, -0.4)
    heat = attribute(linear_model(w), x, target=0, method="integrated gradients", baseline=base)
    expected = ((x - base)[0, 0] * w[0, 0]).abs().numpy()
    np.testing.assert_allclose(heat, expected / expected.max(), rtol=1e-4, atol=1e-6)


def test_occlusion_only_lights_windows_over_the_pixel_the_model_reads():
    w = torch.zeros(1, 1, 12, 12)
    w[0, 0, 5, 5] = 1.0
    x = torch.ones(1, 1, 12, 12)
    heat = attribute(linear_model(w), x, target=0, method="occlusion")
    window, stride = occlusion_window(12, 12)
    assert (window, stride) == (2, 1)
    rows, cols = np.nonzero(heat)
    assert rows.min() >= 4 and rows.max() <= 6 and cols.min() >= 4 and cols.max() <= 6
    assert heat[5, 5] == 1.0


def test_dropout_is_off_and_training_mode_restored(tiny_cnn):
    x = torch.randn(1, 2, 12, 10)
    tiny_cnn.train()
    try:
        maps = [attribute(tiny_cnn, x, 0, "saliency") for _ in range(2)]
        np.testing.assert_array_equal(*maps)        # dropout would make them differ
        assert tiny_cnn.training
        assert torch.equal(logits(tiny_cnn, x), logits(tiny_cnn, x)) and tiny_cnn.training
    finally:
        tiny_cnn.eval()
    assert all(p.grad is None for p in tiny_cnn.parameters())


def test_bad_arguments(tiny_cnn):
    with pytest.raises(ValueError, match="Unknown attribution method"):
        attribute(tiny_cnn, torch.zeros(1, 2, 12, 10), 0, "magic")
    with pytest.raises(ValueError, match="1×C×H×W"):
        attribute(tiny_cnn, torch.zeros(2, 12, 10), 0, "saliency")


def test_normalise_map():
    np.testing.assert_array_equal(normalise_map(np.zeros((3, 3))), np.zeros((3, 3)))
    np.testing.assert_allclose(normalise_map(np.array([[-2.0, 1.0], [np.nan, 0.5]])), [[1, 0.5], [0, 0.25]])


def test_overlay():
    image = np.full((4, 5), 100, np.uint8)
    none = overlay(image, np.zeros((4, 5)))
    assert none.shape == (4, 5, 3) and none.dtype == np.uint8 and (none == 100).all()
    heat = np.zeros((4, 5))
    heat[1, 2] = 1.0
    hot = overlay(image, heat, alpha=1.0)
    assert hot[1, 2].tolist() == heat_colours(np.array(1.0)).tolist() and (hot[0, 0] == 100).all()
    assert overlay(np.zeros((4, 5, 3), np.uint8), heat).shape == (4, 5, 3)
    with pytest.raises(ValueError):
        overlay(image, np.zeros((5, 4)))


def test_heat_colours_run_dark_to_light():
    c = heat_colours(np.linspace(0, 1, 5)).astype(int).sum(1)
    assert (np.diff(c) > 0).all()


# ------------------------------------------------------------------------------ Grad-CAM
class KeepQuadrant(nn.Module):
    """Zeroes a feature map outside one quadrant: what follows sees only that quarter of the image."""

    def __init__(self, corner: tuple[str, str]):
        super().__init__()
        self.corner = corner

    def forward(self, a):
        rows, cols = quadrant(a.shape[-2:], self.corner)
        keep = torch.zeros_like(a)
        keep[..., rows, cols] = 1
        return a * keep


def quadrant(shape, corner: tuple[str, str]) -> tuple[slice, slice]:
    """(rows, columns) of the ("top"|"bottom", "left"|"right") quarter of an H×W grid."""
    h, w = shape
    return (slice(0, h // 2) if corner[0] == "top" else slice(h - h // 2, h),
            slice(0, w // 2) if corner[1] == "left" else slice(w - w // 2, w))


OPPOSITE = {("top", "right"): ("bottom", "left"), ("bottom", "left"): ("top", "right")}


def looks_at_one_quadrant(size: int, classes: int, corner, target: int) -> nn.Module:
    """A ResNet-18 whose last block's output is cut to one quadrant: its class scores depend on that
    quarter of the picture only, and every channel speaks for `target` (so its Grad-CAM is not empty)."""
    torch.manual_seed(0)
    net = build_model("resnet18", (3, size, size), classes)
    net.layer4[-1] = nn.Sequential(net.layer4[-1], KeepQuadrant(corner))
    with torch.no_grad():
        net.fc.weight[target] = 1.0 / net.fc.in_features
    return net.eval()


def mass_in(heat: np.ndarray, corner) -> float:
    rows, cols = quadrant(heat.shape, corner)
    return float(heat[rows, cols].sum() / heat.sum())


@pytest.mark.parametrize("corner", [("top", "right"), ("bottom", "left")])
def test_grad_cam_of_a_resnet_lies_in_the_quadrant_it_looks_at(corner):
    model = looks_at_one_quadrant(32, 10, corner, target=2)   # the small (CIFAR) stem: a 4×4 last block
    assert last_conv_layer(model) is model.layer4[-1]
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    heat = grad_cam(model, x, target=2)
    assert heat.shape == (32, 32) and heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    # Bilinear upsampling of the 4×4 map spills a few pixels over the quadrant's edge, no further.
    assert mass_in(heat, corner) > 0.8
    rows, cols = quadrant(heat.shape, OPPOSITE[corner])
    assert heat[rows, cols].mean() < 0.02
    with pytest.raises(ValueError, match="has 10 classes"):
        grad_cam(model, x, target=10)


def test_grad_cam_at_224x224_lies_in_the_quadrant_it_looks_at():
    model = looks_at_one_quadrant(224, 1000, ("top", "right"), target=7)  # torchvision's stem: 7×7 last block
    heat = grad_cam(model, torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1)), target=7)
    assert heat.shape == (224, 224) and heat.max() == pytest.approx(1.0)
    assert mass_in(heat, ("top", "right")) > 0.95 and mass_in(heat, ("bottom", "left")) < 0.01


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


def test_grad_cam_layers_of_small_cnns():
    lenet = build_model("lenet", (1, 28, 28), 10)      # conv · pool · relu · conv · dropout · pool · relu
    assert last_conv_layer(lenet) is lenet[6]
    gated = build_model("gated-cnn", (3, 32, 32), 10)
    assert grad_cam(gated, torch.randn(1, 3, 32, 32), 1).shape == (32, 32)
    with pytest.raises(ValueError, match="no convolutional layer"):
        last_conv_layer(build_model("mlp", (1, 28, 28), 10))


def test_grad_cam_leaves_a_shared_model_alone():
    torch.manual_seed(0)
    model = build_model("resnet18", (3, 32, 32), 10).eval()
    grad_cam(model, torch.randn(1, 3, 32, 32), 3)
    assert not any(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_grad_cam_of_the_shipped_lenet_sees_its_digits():
    # On raw (pre-ReLU) conv outputs this map was all zero for every digit: keep it rectified.
    run = get_run(DEFAULT_ROOT, "lenet-mnist-mini")
    model, data = load_model(run), load_dataset("mnist-mini")
    for i in range(3):
        x = normalise(data.x_test[i].numpy(), run.info["mean"], run.info["std"])
        heat = grad_cam(model, x, int(model(x).argmax()))
        assert heat.shape == (28, 28) and heat.max() == pytest.approx(1.0) and heat.min() >= 0
