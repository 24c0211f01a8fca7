"""Playground pictures: the output heatmap with its points, and the network diagram with neuron thumbnails."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from nets.playground.data import DOMAIN

NEGATIVE, ZERO, POSITIVE = np.array([245, 147, 34]), np.array([232, 234, 235]), np.array([8, 119, 189])  # TF's
CLASS_COLOURS = np.array([[8, 119, 189], [245, 147, 34], [46, 160, 67], [148, 103, 189], [214, 39, 40],
                          [23, 190, 207]])


def colours(values: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] (clipped) -> RGB uint8 on TF's orange–grey–blue scale."""
    v = np.clip(values, -1, 1)[..., None]
    rgb = np.where(v < 0, ZERO + (NEGATIVE - ZERO) * -v, ZERO + (POSITIVE - ZERO) * v)
    return rgb.astype(np.uint8)


def class_colours(probs: np.ndarray, discretize: bool) -> np.ndarray:
    """(…, k) probabilities -> RGB: the mix of the class colours, paler where the network is unsure."""
    k = probs.shape[-1]
    if discretize:
        probs = np.eye(k)[probs.argmax(-1)]
    mix = probs @ CLASS_COLOURS[:k]
    sure = (probs.max(-1, keepdims=True) - 1 / k) / (1 - 1 / k)
    return (ZERO + (mix - ZERO) * (0.35 + 0.65 * sure)).astype(np.uint8)


def surface(values: np.ndarray, discretize: bool = False) -> np.ndarray:
    if values.ndim == 3:
        return class_colours(values, discretize)
    return colours(np.sign(values) if discretize else values)


def point_colour(label: float, classes: int) -> tuple[int, int, int]:
    if classes > 2:
        return tuple(int(c) for c in CLASS_COLOURS[int(label)])
    return tuple(int(c) for c in colours(np.array(label)))


def draw_lines(img: Image.Image, segments) -> None:
    """Half-plane lines (nets/playground/halfplanes.py) in dark grey, each with its neuron's name and a
    tick on the side where the neuron's z is positive."""
    draw, size = ImageDraw.Draw(img), img.width

    def px(x1, x2):
        return (x1 + DOMAIN) / (2 * DOMAIN) * size, size - (x2 + DOMAIN) / (2 * DOMAIN) * size

    for s in segments:
        (u0, v0), (u1, v1) = px(*s.start), px(*s.end)
        draw.line((u0, v0, u1, v1), fill=(40, 40, 40), width=2)
        n = np.hypot(*s.normal)
        mu, mv = (u0 + u1) / 2, (v0 + v1) / 2
        draw.line((mu, mv, mu + 10 * s.normal[0] / n, mv - 10 * s.normal[1] / n), fill=(40, 40, 40), width=2)
        tu, tv = u0 + 0.12 * (u1 - u0), v0 + 0.12 * (v1 - v0)  # the name near one end, off the tick
        draw.text((tu + 3, tv - 12), f"h{s.unit + 1}", fill=(20, 20, 20))


def heatmap(values: np.ndarray, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray] | None,
            classes: int, size: int = 320, discretize: bool = False, lines=()) -> Image.Image:
    """The output over [-6, 6]² with training points (white rim) and test points (black rim) on top,
    and the first layer's half-plane lines over them if given."""
    img = Image.fromarray(surface(values, discretize)).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(img)
    r = max(2, size // 110)
    for points, rim in ((train, (255, 255, 255)), (test, (0, 0, 0))):
        if points is None:
            continue
        xy, y = points
        px = (xy + DOMAIN) / (2 * DOMAIN) * size
        for (u, v), label in zip(px, y):
            v = size - v  # x2 grows upwards
            draw.ellipse((u - r, v - r, u + r, v + r), fill=point_colour(label, classes), outline=rim)
    draw_lines(img, lines)
    return img


def _thumb(values: np.ndarray, size: int) -> Image.Image:
    scale = max(float(np.abs(values).max()), 1e-6)  # each neuron on its own scale, as TF does for features
    return Image.fromarray(colours(values / scale if scale > 1 else values)).resize((size, size), Image.NEAREST)


def _class_thumb(p: np.ndarray, c: int, size: int) -> Image.Image:
    """One class's probability: white (0) to its colour (1)."""
    rgb = 255 + (CLASS_COLOURS[c] - 255) * np.clip(p, 0, 1)[..., None]
    return Image.fromarray(rgb.astype(np.uint8)).resize((size, size), Image.NEAREST)


def network(inputs: np.ndarray, layers: list[np.ndarray], weights: list[tuple[np.ndarray, np.ndarray]],
            labels: list[str], output: np.ndarray, box: int | None = None, width: int = 420, height: int = 400,
            discretize: bool = False) -> Image.Image:
    """Columns of thumbnails (features, hidden neurons, output) joined by edges: blue W > 0, orange
    W < 0, thicker for larger |W|. k output units get a thumbnail each (that class's probability);
    one output unit shows the network's output. The box grows to fill the picture."""
    columns = [list(inputs), *[list(a) for a in layers]]
    k = output.shape[-1] if output.ndim == 3 else 1
    n_cols = len(columns) + 1
    left = 46  # room for the feature labels
    tallest = max([len(c) for c in columns] + [k])
    if box is None:
        box = int(min(56, 0.62 * (width - left) / n_cols, 0.8 * height / tallest))
    xs = [left + i * (width - left - box - 6) / max(n_cols - 1, 1) for i in range(n_cols)]

    def ys(n):
        gap = min(box * 1.3, (height - box) / max(n - 1, 1))
        top = (height - box - gap * (n - 1)) / 2
        return [top + j * gap for j in range(n)]

    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    centres = [[(xs[i] + box / 2, y + box / 2) for y in ys(len(col))] for i, col in enumerate(columns)]
    centres.append([(xs[-1] + box / 2, y + box / 2) for y in ys(k)])
    for i, (W, _) in enumerate(weights):
        big = max(float(np.abs(W).max()), 1e-6)
        for dst in range(W.shape[0]):
            for src in range(W.shape[1]):
                w = float(W[dst, src])
                colour = tuple(int(c) for c in (POSITIVE if w > 0 else NEGATIVE))
                draw.line((*centres[i][src], *centres[i + 1][min(dst, len(centres[i + 1]) - 1)]), fill=colour,
                          width=max(1, round(4 * abs(w) / max(big, 1.0))))
    for i, col in enumerate(columns):
        for (cx, cy), values in zip(centres[i], col):
            img.paste(_thumb(values, box), (int(cx - box / 2), int(cy - box / 2)))
            draw.rectangle((cx - box / 2, cy - box / 2, cx + box / 2, cy + box / 2), outline=(120, 120, 120))
    for (cx, cy), text in zip(centres[0], labels):
        draw.text((2, cy - 6), text, fill=(40, 40, 40))
    if k == 1:
        cx, cy = centres[-1][0]
        out = Image.fromarray(surface(output, discretize)).resize((box + 10, box + 10), Image.BILINEAR)
        img.paste(out, (int(cx - box / 2 - 5), int(cy - box / 2 - 5)))
    else:
        for c, (cx, cy) in enumerate(centres[-1]):
            img.paste(_class_thumb(output[..., c], c, box), (int(cx - box / 2), int(cy - box / 2)))
            draw.rectangle((cx - box / 2, cy - box / 2, cx + box / 2, cy + box / 2),
                           outline=tuple(int(v) for v in CLASS_COLOURS[c]), width=2)
    return img
