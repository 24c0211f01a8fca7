"""The path from a picture to the model's input, and the robustness probe's transforms."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nets.inspect.imageio import read_image
from nets.inspect.prediction import top_k
from nets.inspect.preprocess import (
    baseline,
    centre_by_mass,
    centre_of_mass,
    is_light_background,
    normalise,
    perturb,
    preprocess,
    style_for,
)
from nets.runs import get_run, load_model

ROOT = Path(__file__).resolve().parent.parent
MEAN, STD = [0.1307], [0.3081]
MNIST = (1, 28, 28)


def blob_on_paper(size=(200, 160), centre=(40, 50), radius=18, ink=20, paper=235) -> Image.Image:
    """A dark disc (the 'digit') on light paper, far from the middle."""
    h, w = size
    rows, cols = np.indices((h, w))
    a = np.full((h, w), paper, np.uint8)
    a[(rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2] = ink
    return Image.fromarray(a, "L")


def test_style_follows_the_run():
    assert style_for([1, 28, 28], "mnist-mini") == "mnist"
    assert style_for([1, 28, 28], "fashion-mnist") == "fashion"
    assert style_for([3, 32, 32], "cifar10") == "photo"


def test_light_background_is_inverted_dark_is_not():
    prepared = preprocess(blob_on_paper(), MNIST, MEAN, STD)
    assert "Invert" in [s.title for s in prepared.steps]
    assert prepared.image[0, 0, 0] == 0 and prepared.image.max() == 255   # white digit on black
    dark = preprocess(Image.fromarray(255 - np.asarray(blob_on_paper())), MNIST, MEAN, STD)
    assert "Invert" not in [s.title for s in dark.steps] and "Invert?" in [s.title for s in dark.steps]
    np.testing.assert_array_equal(prepared.image, dark.image)


def test_border_decides_not_the_average():
    a = np.zeros((50, 50), np.uint8)
    a[5:45, 5:45] = 255                      # mostly white, but the frame is black
    assert not is_light_background(a)
    assert is_light_background(255 - a)


def test_shapes_and_normalisation():
    prepared = preprocess(blob_on_paper().convert("RGB"), MNIST, MEAN, STD)
    assert prepared.image.shape == (1, 28, 28) and prepared.image.dtype == np.uint8
    assert prepared.x.shape == (1, 1, 28, 28) and prepared.x.dtype == torch.float32
    expected = (prepared.image.astype(np.float64) / 255 - MEAN[0]) / STD[0]
    np.testing.assert_allclose(prepared.x[0].numpy(), expected, atol=1e-5)
    assert prepared.steps[0].title == "Grayscale" and prepared.steps[-1].title == "Model input"


def test_mnist_recipe_fits_20_box_and_centres_by_mass():
    prepared = preprocess(blob_on_paper(), MNIST, MEAN, STD)
    ys, xs = np.nonzero(prepared.image[0] > 25)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 in (19, 20, 21)
    r, c = centre_of_mass(prepared.image[0])
    assert abs(r - 14) <= 0.5 and abs(c - 14) <= 0.5


def test_centre_by_mass_shifts_the_centre_of_mass():
    a = np.zeros((28, 28), np.uint8)
    a[2:9, 3:8] = 200                        # centre of mass (5, 5)
    moved, (dy, dx) = centre_by_mass(a)
    assert (dy, dx) == (9, 9)
    r, c = centre_of_mass(moved)
    assert abs(r - 14) <= 0.5 and abs(c - 14) <= 0.5 and moved.sum() == a.sum()


def test_real_mnist_digits_pass_almost_unchanged():
    with np.load(ROOT / "assets" / "mnist_mini.npz") as z:
        x = z["x_test"][:60]
    out = np.stack([preprocess(Image.fromarray(a), MNIST, MEAN, STD).image[0] for a in x])
    assert np.abs(out.astype(int) - x).mean() < 1.0


def test_fashion_recipe_fills_the_field_without_mass_centring():
    prepared = preprocess(blob_on_paper(), MNIST, MEAN, STD, style="fashion")
    ys, xs = np.nonzero(prepared.image[0] > 25)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 >= 27
    assert "Centre" not in [s.title for s in prepared.steps]


def test_photo_recipe_keeps_aspect_and_pads_with_the_mean_colour():
    mean, std = [0.5, 0.4, 0.3], [0.25, 0.25, 0.25]
    img = Image.new("RGB", (64, 32), (255, 0, 0))
    prepared = preprocess(img, (3, 32, 32), mean, std)
    assert prepared.image.shape == (3, 32, 32)
    assert prepared.image[:, 16, 16].tolist() == [255, 0, 0]               # the picture, centred
    assert prepared.image[:, 0, 16].tolist() == [128, 102, 76]             # padding = mean colour
    assert abs(float(prepared.x[0, :, 0, 16].abs().max())) < 0.01          # ... which normalises to ~0
    gray = preprocess(Image.new("L", (10, 10), 7), (3, 32, 32), mean, std)
    assert gray.image.shape == (3, 32, 32) and (gray.image[:, 16, 16] == 7).all()


def test_blank_picture_is_flagged():
    prepared = preprocess(Image.new("L", (50, 50), 240), MNIST, MEAN, STD)
    assert prepared.blank and prepared.image.shape == (1, 28, 28) and prepared.image.max() == 0


def test_unsupported_channels_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        preprocess(Image.new("L", (5, 5)), (4, 32, 32), [0] * 4, [1] * 4)


def test_baseline_is_the_normalised_background():
    b = baseline((0,), (1, 28, 28), MEAN, STD)
    assert b.shape == (1, 1, 28, 28) and torch.allclose(b, torch.full_like(b, -MEAN[0] / STD[0]))


# ------------------------------------------------------------------------------ robustness probe
def dot(h=28, w=28, row=14, col=20) -> np.ndarray:
    a = np.zeros((1, h, w), np.uint8)
    a[0, row, col] = 255
    return a


def brightest(a: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(a[0].argmax(), a[0].shape)
    return int(r), int(c)


def test_perturb_identity_and_shape():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)
    np.testing.assert_array_equal(perturb(a), a)
    for kw in ({"rotation": 30}, {"shift": (3, -2)}, {"scale": 0.6}, {"noise": 0.2}):
        out = perturb(a, **kw)
        assert out.shape == a.shape and out.dtype == np.uint8


def test_perturb_moves_pixels_where_expected():
    assert brightest(perturb(dot(), shift=(3, -2))) == (12, 23)
    r, c = brightest(perturb(dot(), rotation=90))          # right of centre → above centre
    assert c in (13, 14) and r < 9
    r, c = brightest(perturb(dot(), scale=0.5))            # halfway towards the centre
    assert r == 14 and 16 <= c <= 17


def test_perturb_fills_with_the_background():
    light = np.full((1, 20, 20), 200, np.uint8)
    assert (perturb(light, rotation=45, shift=(5, 5), scale=0.5) == 200).all()


def test_perturb_is_deterministic_and_seeded():
    a = dot()
    one = perturb(a, rotation=10, noise=0.3, seed=4)
    np.testing.assert_array_equal(one, perturb(a, rotation=10, noise=0.3, seed=4))
    assert not np.array_equal(one, perturb(a, rotation=10, noise=0.3, seed=5))
    assert abs(float(perturb(np.full((1, 40, 40), 128, np.uint8), noise=0.1).std()) - 25.5) < 3


# ------------------------------------------------------------------------------ whole path
MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "CMYK"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(MODES), w=st.integers(1, 40), h=st.integers(1, 40), seed=st.integers(0, 2**16),
       shape=st.sampled_from([(1, 28, 28), (3, 32, 32), (1, 16, 20)]), via_png=st.booleans())
def test_random_small_images_never_crash(mode, w, h, seed, shape, via_png):
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16))
    else:
        rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        if rng.random() < 0.3:
            rgba[:] = rgba[0, 0]                           # flat images: the blank case
        img = Image.fromarray(rgba).convert(mode)
    if via_png and mode != "CMYK":
        buf = io.BytesIO()
        img.save(buf, "PNG")
        img = read_image(buf.getvalue()).image
    c = shape[0]
    prepared = preprocess(img, shape, [0.5] * c, [0.25] * c)
    assert prepared.image.shape == shape and prepared.image.dtype == np.uint8
    assert prepared.x.shape == (1, *shape) and torch.isfinite(prepared.x).all()


def test_every_bundled_sample_is_classified_as_its_digit():
    run = get_run(ROOT / "checkpoints", "lenet-mnist-mini")
    model = load_model(run)
    samples = sorted((ROOT / "assets" / "samples").glob("*.png"))
    assert len(samples) >= 12
    for path in samples:
        digit = next(ch for ch in path.stem if ch.isdigit())
        img = read_image(path.read_bytes()).image
        prepared = preprocess(img, run.info["input_shape"], run.info["mean"], run.info["std"])
        with torch.no_grad():
            assert top_k(model(prepared.x)[0], run.info["classes"])[0].label == digit, path.name
    assert normalise(prepared.image, run.info["mean"], run.info["std"]).shape == (1, 1, 28, 28)

