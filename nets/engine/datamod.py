"""A training set's modification (TrainConfig.data_mod): keep p% of some classes, flip labels, clean them; text form, words, and the seeded apply."""
# The text form, steps joined by ";" in the order they run (keep;flip;clean):
#   keep:3,5@10        keep 10% of the training images of classes 3 and 5 (every other image kept)
#   flip:30            30% of all (kept) training labels flipped, each to a uniformly random other class
#   flip:7>1@30,3>8@20 30% of the 7s labelled 1, 20% of the 3s labelled 8
#   clean:5            5-fold cross-validation, then cleanlab drops the flagged images (nets.datalab)
# Counts are "what the sliders say": keep → round(p/100 × n_class) images (at least 1), flip →
# round(q/100 × n) labels, rounding halves up; the images are drawn with torch.Generators seeded from
# (seed, a fixed salt per step), so the same config picks the same images everywhere.
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # naming imports this module, and must not load torch (tests/test_naming.py)
    import torch

from nets.engine.errors import ConfigError

KEEP_SALT, FLIP_SALT = 2_600_001, 2_600_002   # apart from the splits' own seeds (seed, seed + 1)
MAX_FOLDS = 10
_PCT = r"\d{1,3}(?:\.\d{1,2})?"
_KEEP = re.compile(rf"^(\d+(?:,\d+)*)@({_PCT})$")
_PAIR = re.compile(rf"^(\d+)>(\d+)@({_PCT})$")


class DataModError(ConfigError):
    """A data modification that cannot be read or applied; the message says which and why."""


@dataclass(frozen=True)
class DataMod:
    keep: tuple[tuple[int, ...], float] | None = None      # (classes, pct)
    flips: tuple[tuple[int | None, int | None, float], ...] = ()  # (from, to, pct); (None, None, q): symmetric
    clean: int = 0                                         # k folds; 0: no clean step

    def __bool__(self) -> bool:
        return bool(self.keep or self.flips or self.clean)

    @property
    def symmetric(self) -> bool:
        return any(a is None for a, _, _ in self.flips)


NONE = DataMod()


def _pct(text: str, what: str) -> float:
    p = float(text)
    if not 0 < p <= 100:
        raise DataModError(f"{what}: the percentage must be above 0 and at most 100, not {text}")
    return p


def parse(text: str, num_classes: int | None = None) -> DataMod:
    """The modification in `text` ("" or blanks: none). With `num_classes`, class numbers are checked
    against it. DataModError says what is wrong, in words."""
    if not isinstance(text, str):
        raise DataModError(f"the data modification must be text such as 'flip:30', not {text!r}")
    keep, flips, clean, seen = None, (), 0, set()
    for step in filter(None, re.sub(r"\s+", "", text).split(";")):
        name, _, args = step.partition(":")
        name = name.lower()
        if name not in ("keep", "flip", "clean"):
            raise DataModError(f"data modification step '{step[:30]}' is not keep:…, flip:… or clean:…")
        if name in seen:
            raise DataModError(f"the data modification has two {name} steps: join them in one")
        seen.add(name)
        if name == "keep":
            m = _KEEP.match(args)
            if not m:
                raise DataModError(f"keep '{args[:30]}' is not classes@percent, such as keep:3,5@10")
            classes = tuple(int(c) for c in m.group(1).split(","))
            if len(set(classes)) != len(classes):
                raise DataModError("keep names a class twice")
            keep = (tuple(sorted(classes)), _pct(m.group(2), "keep"))
        elif name == "flip":
            if re.fullmatch(_PCT, args):
                flips = ((None, None, _pct(args, "flip")),)
                continue
            pairs = []
            for pair in args.split(","):
                m = _PAIR.match(pair)
                if not m:
                    raise DataModError(f"flip '{pair[:30]}' is neither a percentage (flip:30) nor "
                                       "from>to@percent (flip:7>1@30)")
                a, b = int(m.group(1)), int(m.group(2))
                if a == b:
                    raise DataModError(f"flip {a}>{b} labels a class as itself")
                pairs.append((a, b, _pct(m.group(3), "flip")))
            if len({(a, b) for a, b, _ in pairs}) != len(pairs):
                raise DataModError("flip names the same pair of classes twice")
            for a in {a for a, _, _ in pairs}:
                if sum(q for f, _, q in pairs if f == a) > 100:
                    raise DataModError(f"flip takes more than 100% of class {a}")
            flips = tuple(sorted(pairs))
        else:
            if not args.isdigit() or not 2 <= int(args) <= MAX_FOLDS:
                raise DataModError(f"clean needs a number of folds from 2 to {MAX_FOLDS}, such as clean:5")
            clean = int(args)
    mod = DataMod(keep, flips, clean)
    if num_classes is not None:
        used = [*(mod.keep[0] if mod.keep else ()), *(c for a, b, _ in flips if a is not None for c in (a, b))]
        if bad := sorted({c for c in used if c >= num_classes}):
            raise DataModError(f"class {bad[0]} is not one of this dataset's {num_classes} classes "
                               f"(0 to {num_classes - 1})")
        if mod.symmetric and num_classes < 2:
            raise DataModError("flipping labels needs at least two classes")
    return mod


def _num(p: float) -> str:
    return f"{p:.2f}".rstrip("0").rstrip(".")


def text(mod: DataMod) -> str:
    """The canonical text form: parse(text(mod)) == mod."""
    steps = []
    if mod.keep:
        steps.append(f"keep:{','.join(map(str, mod.keep[0]))}@{_num(mod.keep[1])}")
    if mod.flips:
        steps.append("flip:" + (_num(mod.flips[0][2]) if mod.symmetric else
                                ",".join(f"{a}>{b}@{_num(q)}" for a, b, q in mod.flips)))
    if mod.clean:
        steps.append(f"clean:{mod.clean}")
    return ";".join(steps)


def canonical(raw: str, num_classes: int | None = None) -> str:
    """`raw` in canonical form ('flip: 30 ; keep:5,3@10' → 'keep:3,5@10;flip:30')."""
    return text(parse(raw, num_classes))


def _plural(name: str) -> str:
    return f"{name}s" if len(name) <= 2 else f"'{name}' images"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _name(classes: list[str], c: int) -> str:
    return str(classes[c]) if 0 <= c < len(classes) else str(c)


def describe(mod: DataMod, classes: list[str]) -> str:
    """In words: '10% of 3s and 5s kept; 30% of 7s labelled 1' ("" for none)."""
    parts = []
    if mod.keep:
        parts.append(f"{_num(mod.keep[1])}% of {_and([_plural(_name(classes, c)) for c in mod.keep[0]])} kept")
    if mod.symmetric:
        parts.append(f"{_num(mod.flips[0][2])}% of labels flipped at random")
    else:
        parts += [f"{_num(q)}% of {_plural(_name(classes, a))} labelled {_name(classes, b)}" for a, b, q in mod.flips]
    if mod.clean:
        parts.append(f"images whose label {mod.clean}-fold cross-validation flagged dropped")
    return "; ".join(parts)


def short(mod: DataMod) -> str:
    """For run names: 'keep 3,5 10% · flip 7→1 30%' ("" for none)."""
    parts = []
    if mod.keep:
        parts.append(f"keep {','.join(map(str, mod.keep[0]))} {_num(mod.keep[1])}%")
    if mod.flips:
        parts.append("flip " + (f"{_num(mod.flips[0][2])}%" if mod.symmetric else
                                ", ".join(f"{a}→{b} {_num(q)}%" for a, b, q in mod.flips)))
    if mod.clean:
        parts.append(f"clean {mod.clean}-fold")
    return " · ".join(parts)


@dataclass
class Modified:
    """What apply() did to the training set (before any clean step)."""
    keep: torch.Tensor     # indices into the training set, sorted
    labels: torch.Tensor   # the labels the model is given, for the kept images
    true: torch.Tensor     # their true labels (== labels where not flipped)

    @property
    def flipped(self) -> torch.Tensor:
        return self.labels != self.true


def share(pct: float, n: int) -> int:
    """round(pct/100 × n), halves up (25 images at 10%: 3)."""
    return int(pct * n / 100 + 0.5)


def apply(mod: DataMod, y: torch.Tensor, num_classes: int, seed: int) -> Modified:
    """The keep and flip steps on training labels `y` (int64 N); the clean step is nets.datalab's."""
    import torch
    y = torch.as_tensor(y, dtype=torch.int64).cpu()
    keep = torch.ones(len(y), dtype=torch.bool)
    if mod.keep:
        g = torch.Generator().manual_seed(seed + KEEP_SALT)
        classes, pct = mod.keep
        for c in classes:
            idx = torch.nonzero(y == c).flatten()
            if len(idx):
                idx = idx[torch.randperm(len(idx), generator=g)]
                keep[idx[max(1, share(pct, len(idx))):]] = False
    keep = torch.nonzero(keep).flatten()
    true = y[keep]
    labels = true.clone()
    g = torch.Generator().manual_seed(seed + FLIP_SALT)
    if mod.symmetric:
        chosen = torch.randperm(len(true), generator=g)[:share(mod.flips[0][2], len(true))]
        shift = torch.randint(1, num_classes, (len(chosen),), generator=g)  # a uniformly random other class
        labels[chosen] = (true[chosen] + shift) % num_classes
    else:
        for a in sorted({a for a, _, _ in mod.flips}):  # the pairs of one class take disjoint images
            idx = torch.nonzero(true == a).flatten()
            idx = idx[torch.randperm(len(idx), generator=g)]
            start = 0
            for _, b, q in (f for f in mod.flips if f[0] == a):
                k = share(q, len(idx))
                labels[idx[start:start + k]] = b
                start += k
    return Modified(keep, labels, true)
