"""Attribution maps and the heat-map overlay."""
import numpy as np
import pytest
import torch
from torch import nn

from nets.inspect.attribution import (
    METHODS,
    attribute,
    heat_colours,
    logits,
    normalise_map,
    occlusion_window,
    overlay,
)


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
