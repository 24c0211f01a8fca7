"""Regenerate the sample images of the "Classify an image" page from the bundled MNIST test digits.

    python assets/samples/make_samples.py

digit-<d>.png: the first test digit of each class, exactly as MNIST stores it (28×28, white on black).
photo-3.png, ink-5.png, transparent-2.png: the same kind of digit made to look like what students
upload (dark ink on light or transparent paper, large, off-centre), so the page's inversion,
cropping and centring steps have something to do. Deterministic: same files every run.
"""
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MNIST_MINI = HERE.parent / "mnist_mini.npz"


def first_of_each_class(x: np.ndarray, y: np.ndarray) -> dict[int, np.ndarray]:
    return {d: x[int(np.flatnonzero(y == d)[0])] for d in range(10)}


def on_paper(digit: np.ndarray, size: int, box: int, offset: tuple[int, int], paper, ink,
             rng: np.random.Generator) -> np.ndarray:
    """A dark digit `box` pixels tall on light `paper`, at `offset` from the centre, with mild noise."""
    big = np.asarray(Image.fromarray(digit).resize((box, box), Image.Resampling.BICUBIC), np.float64) / 255
    alpha = np.zeros((size, size))
    top, left = (size - box) // 2 + offset[1], (size - box) // 2 + offset[0]
    alpha[top:top + box, left:left + box] = big
    shade = np.linspace(1.0, 0.93, size)[None, :, None]          # uneven lighting across the page
    rgb = np.array(paper, np.float64) * shade * (1 - alpha[..., None]) + np.array(ink) * alpha[..., None]
    rgb += rng.normal(0, 3, rgb.shape)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def main() -> None:
    with np.load(MNIST_MINI, allow_pickle=False) as z:
        digits = first_of_each_class(z["x_test"], z["y_test"])
    for d, img in digits.items():
        Image.fromarray(img, "L").save(HERE / f"digit-{d}.png")
    rng = np.random.default_rng(0)
    Image.fromarray(on_paper(digits[3], 200, 120, (-25, 20), (236, 232, 222), (35, 35, 50), rng),
                    "RGB").save(HERE / "photo-3.png")
    ink = 255 - np.asarray(Image.fromarray(digits[5]).resize((200, 200), Image.Resampling.BICUBIC))
    Image.fromarray(ink, "L").save(HERE / "ink-5.png")
    alpha = np.asarray(Image.fromarray(digits[2]).resize((160, 160), Image.Resampling.BICUBIC))
    rgba = np.zeros((160, 160, 4), np.uint8)
    rgba[..., 2] = 90                                              # dark blue ink
    rgba[..., 3] = alpha
    Image.fromarray(rgba, "RGBA").save(HERE / "transparent-2.png")


if __name__ == "__main__":
    main()
