"""Batched augmentation (nets/engine/augment.py): each transform, reproducibility, the preview's copies."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nets.engine.augment import AUGMENTATIONS, LABELS, augment, augmented_copies, check_names, describe

NAMES = list(AUGMENTATIONS)


def _batch(n=16, c=3, h=32, w=32, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed))


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_registry_has_all_names():
    assert NAMES == [
        "crop", "flip", "vflip", "affine", "rotate", "jitter", "sharpness", "grayscale", "flip_alt", "translate"
    ]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("c,h,w", [(1, 28, 28), (3, 32, 32), (3, 24, 40)])
def test_shape_dtype_range_preserved(name, c, h, w):
    x = _batch(c=c, h=h, w=w)
    y = augment(x, [name], _gen(1))
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert y.min() >= 0 and y.max() <= 1
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_reproducible_and_seed_dependent(name):
    x = _batch(n=64)
    a = augment(x, [name], _gen(7))
    b = augment(x, [name], _gen(7))
    c = augment(x, [name], _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_all_names_chained_reproducible_float64():
    x = _batch(n=32).double()
    a = augment(x, NAMES, _gen(3))
    assert a.dtype == torch.float64
    assert torch.equal(a, augment(x, NAMES, _gen(3)))


def test_global_rng_when_no_generator():
    x = _batch()
    torch.manual_seed(5)
    a = augment(x, ["crop", "flip", "jitter"])
    torch.manual_seed(5)
    assert torch.equal(a, augment(x, ["crop", "flip", "jitter"]))


@pytest.mark.parametrize("name,dim", [("flip", -1), ("vflip", -2)])
def test_flip_is_identity_or_exact_flip_and_both_happen(name, dim):
    x = _batch(n=256, h=8, w=8)
    y = augment(x, [name], _gen(0))
    same = (y == x).flatten(1).all(1)
    flipped = (y == x.flip(dim)).flatten(1).all(1)
    assert (same | flipped).all()
    assert 64 < flipped.sum() < 192  # ~128 expected; both outcomes happen


def test_crop_is_a_shifted_window_of_the_padded_input():
    n, h, w = 12, 32, 32
    pad = h // 8
    x = _batch(n=n, h=h, w=w) + 0.01  # strictly positive, so padding zeros are unambiguous
    x = x.clamp(max=1)
    y = augment(x, ["crop"], _gen(2))
    padded = F.pad(x, (pad, pad, pad, pad))
    shifts = set()
    for i in range(n):
        hits = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(y[i], padded[i, :, dy:dy + h, dx:dx + w])
        ]
        assert len(hits) == 1, f"sample {i} is not a unique shifted window"
        shifts.add(hits[0])
    assert len(shifts) > 3  # each sample gets its own shift


def test_crop_pad_is_at_least_one_for_small_images():
    x = _batch(n=64, c=1, h=6, w=6) + 0.01  # h // 8 == 0 -> pad 1
    y = augment(x.clamp(max=1), ["crop"], _gen(0))
    assert (y == 0).any()  # some samples shifted in zero padding
    assert y.shape == x.shape


def test_grayscale_converts_some_samples_with_equal_channels():
    x = _batch(n=256)
    y = augment(x, ["grayscale"], _gen(0))
    converted = ~(y == x).flatten(1).all(1)
    assert 20 < converted.sum() < 90  # p = 0.2 -> ~51
    yc = y[converted]
    assert torch.allclose(yc[:, 0], yc[:, 1]) and torch.allclose(yc[:, 1], yc[:, 2])
    luma = 0.299 * x[converted, 0] + 0.587 * x[converted, 1] + 0.114 * x[converted, 2]
    assert torch.allclose(yc[:, 0], luma, atol=1e-6)


def test_grayscale_is_identity_for_one_channel():
    x = _batch(c=1)
    assert torch.equal(augment(x, ["grayscale"], _gen(0)), x)


def test_jitter_one_channel_and_per_sample():
    x = _batch(n=32, c=1, h=28, w=28)
    y = augment(x, ["jitter"], _gen(0))
    assert y.shape == x.shape and not torch.equal(x, y)
    # Per-sample factors: samples are not all scaled by the same amount.
    x3 = torch.full((32, 3, 8, 8), 0.5)
    y3 = augment(x3, ["jitter"], _gen(0))
    assert y3.flatten(1).mean(1).unique().numel() > 10


def test_sharpness_leaves_flat_images_and_border_alone():
    flat = torch.full((8, 3, 16, 16), 0.3)
    assert torch.allclose(augment(flat, ["sharpness"], _gen(0)), flat, atol=1e-6)
    x = _batch()
    y = augment(x, ["sharpness"], _gen(0))
    assert torch.equal(y[..., 0, :], x[..., 0, :]) and torch.equal(y[..., :, -1], x[..., :, -1])
    assert not torch.equal(y, x)


@pytest.mark.parametrize("name", ["affine", "rotate"])
def test_warps_keep_constant_centre_and_differ_per_sample(name):
    x = torch.ones(16, 3, 32, 32)
    y = augment(x, [name], _gen(0))
    assert torch.allclose(y[..., 14:18, 14:18], torch.ones(1), atol=1e-5)
    z = augment(_batch(n=16), [name], _gen(0))
    assert not torch.equal(z[0], z[1])


# The reference checks below replay the module's random draws (one torch.rand(N) per factor, in
# order) and recompute each image on its own with plain formulas, the way torchvision's
# functional ops define them (importing torchvision would cost over a second of test time).
def _factors(n, seed, lo, hi, k=1):
    g = _gen(seed)
    return [lo + (hi - lo) * torch.rand(n, generator=g) for _ in range(k)]


def _luma(img):
    if img.shape[0] == 1:
        return img
    return 0.299 * img[0:1] + 0.587 * img[1:2] + 0.114 * img[2:3]


@pytest.mark.parametrize("c", [1, 3])
def test_jitter_matches_per_image_reference(c):
    x = _batch(n=6, c=c, h=12, w=12)
    y = augment(x, ["jitter"], _gen(9))
    b, ct, sat = _factors(6, 9, 0.6, 1.4, k=3)
    for i in range(6):
        ref = (x[i] * b[i]).clamp(0, 1)  # brightness: blend with black
        mean = _luma(ref).mean()
        ref = (ct[i] * ref + (1 - ct[i]) * mean).clamp(0, 1)  # contrast: blend with mean grey
        if c == 3:
            ref = (sat[i] * ref + (1 - sat[i]) * _luma(ref)).clamp(0, 1)
        assert torch.allclose(y[i], ref, atol=1e-5)


def test_sharpness_matches_per_image_reference():
    x = _batch(n=6, h=12, w=10)
    y = augment(x, ["sharpness"], _gen(9))
    (f,) = _factors(6, 9, 0.5, 2.0)
    kernel = torch.tensor([[1.0, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13
    for i in range(6):
        blurred = x[i].clone()
        blurred[:, 1:-1, 1:-1] = F.conv2d(x[i][:, None], kernel[None, None])[:, 0]
        ref = (f[i] * x[i] + (1 - f[i]) * blurred).clamp(0, 1)
        assert torch.allclose(y[i], ref, atol=1e-5)


def test_rotate_is_rigid_in_pixel_space_on_non_square_image():
    h, w = 20, 36
    x = _batch(n=4, h=h, w=w)
    y = augment(x, ["rotate"], _gen(9))
    (deg,) = _factors(4, 9, -30.0, 30.0)
    # Output pixel centres relative to the image centre, in pixels.
    py, px = torch.meshgrid(
        torch.arange(h) + 0.5 - h / 2, torch.arange(w) + 0.5 - w / 2, indexing="ij"
    )
    for i in range(4):
        a = torch.deg2rad(deg[i])
        sx = torch.cos(a) * px + torch.sin(a) * py  # where each output pixel samples from
        sy = -torch.sin(a) * px + torch.cos(a) * py
        grid = torch.stack([sx / (w / 2), sy / (h / 2)], dim=-1)[None]
        ref = F.grid_sample(x[i : i + 1], grid, align_corners=False)[0]
        assert torch.allclose(y[i], ref, atol=1e-5)


def test_unknown_name_raises_with_choices():
    with pytest.raises(ValueError, match=r"unknown augmentation 'xyz'; choose from crop, flip,"):
        check_names(["flip", "xyz"])
    with pytest.raises(ValueError, match="grayscale"):
        augment(_batch(), ["crop", "xyz"])
    check_names(NAMES)  # all valid: no error


def test_bare_string_is_one_name():
    x = _batch()
    assert torch.equal(augment(x, "flip", _gen(0)), augment(x, ["flip"], _gen(0)))


def test_empty_names_returns_input_unchanged():
    x = _batch()
    y = augment(x, [], _gen(0))
    assert torch.equal(y, x)


def test_works_under_no_grad_and_with_channels_last_input():
    x = _batch(n=8)
    xcl = x.contiguous(memory_format=torch.channels_last)
    assert not xcl.is_contiguous()
    with torch.no_grad():
        a = augment(x, NAMES, _gen(4))
        b = augment(xcl, NAMES, _gen(4))
    assert b.shape == x.shape
    assert torch.allclose(a, b, atol=1e-5)


def test_input_is_not_modified_in_place():
    x = _batch()
    before = x.clone()
    augment(x, NAMES, _gen(0))
    assert torch.equal(x, before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_device_and_reproducible():
    x = _batch().cuda()
    g1 = torch.Generator(device="cuda").manual_seed(0)
    g2 = torch.Generator(device="cuda").manual_seed(0)
    a, b = augment(x, NAMES, g1), augment(x, NAMES, g2)
    assert a.device == x.device and torch.equal(a, b)


def test_flips_are_suggested_only_where_a_mirror_image_keeps_its_class():
    from nets.engine.augment import mirror_safe, suitable
    assert suitable("mnist-mini") == ("crop",) and not mirror_safe("mnist")  # a mirrored 2 is no 2
    assert suitable("cifar10") == ("crop", "flip") and mirror_safe("fashion-mnist")
    from nets.engine.catalog import DATASETS, MIRROR_CHANGES_CLASS
    assert MIRROR_CHANGES_CLASS <= set(DATASETS)  # a dataset fact, kept by the catalogue


def test_augmented_copies_are_the_engines_transforms():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)
    out = augmented_copies(image, ["crop", "flip", "jitter"], 12, seed=5)
    assert out.shape == (12, 3, 20, 24) and out.dtype == np.uint8
    batch = torch.from_numpy(image).float().div(255).repeat(12, 1, 1, 1)
    same = augment(batch, ["crop", "flip", "jitter"], torch.Generator().manual_seed(5))
    assert np.array_equal(out, same.mul(255).round().to(torch.uint8).numpy())
    assert len({v.tobytes() for v in out}) > 1                  # each copy drew its own parameters
    assert np.array_equal(out, augmented_copies(image, ["crop", "flip", "jitter"], 12, seed=5))
    assert not np.array_equal(out, augmented_copies(image, ["crop", "flip", "jitter"], 12, seed=6))
    assert (augmented_copies(image, [], 3, 0) == image).all()
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        augmented_copies(image, ["blur"], 2, 0)


def test_every_augmentation_has_a_plain_name_and_a_description():
    assert list(LABELS) == NAMES and LABELS["flip"] == "horizontal flip"
    rows = describe()
    assert [r["engine name"] for r in rows] == NAMES and [r["augmentation"] for r in rows] == list(LABELS.values())
    assert rows[0]["what it does"] == "Zero-pad by max(1, size // 8) and take a random H x W window per sample."
    assert all(r["what it does"] and "\n" not in r["what it does"] for r in rows)
