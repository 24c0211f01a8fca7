"""The layer statistics as arrays (`Dynamics`): built from StatsPlan and LayerStats events, cut to a step range, thinned evenly."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import zlib

import numpy as np

from nets.engine.bins import BINS

PER_RECORD = ("step", "epoch", "batch", "images_seen", "lr", "out_confident", "out_confident_wrong", "out_max_p")
PER_LAYER = ("weight_norm", "grad_norm", "update_norm")
PER_SITE = ("act_mean", "act_std", "dead", "saturated")
HISTS = ("hist_weight", "hist_grad", "hist_act")
ARRAYS = PER_RECORD + PER_LAYER + PER_SITE + HISTS
INTS = ("step", "epoch", "batch", "images_seen")
UPDATE_RATIO_GOOD = 1e-3  # Karpathy's rule of thumb: an update moves a weight by about 1/1000 of its size


@dataclass
class Dynamics:
    """R records of L weight layers and S activation sites. Scalars are (R,), (R,L) or (R,S) arrays;
    histograms (R,L,BINS) and (R,S,BINS) uint32 counts on nets.engine.bins. `hist_step` says which
    records carry histograms (all of them in a saved run; fewer in the live copy)."""
    every: int
    window: int
    layers: list[str]
    layer_kinds: list[str]
    sites: list[str]
    site_kinds: list[str]
    step: np.ndarray = field(repr=False, default=None)
    epoch: np.ndarray = field(repr=False, default=None)
    batch: np.ndarray = field(repr=False, default=None)
    images_seen: np.ndarray = field(repr=False, default=None)
    lr: np.ndarray = field(repr=False, default=None)
    out_confident: np.ndarray = field(repr=False, default=None)
    out_confident_wrong: np.ndarray = field(repr=False, default=None)
    out_max_p: np.ndarray = field(repr=False, default=None)
    weight_norm: np.ndarray = field(repr=False, default=None)
    grad_norm: np.ndarray = field(repr=False, default=None)
    update_norm: np.ndarray = field(repr=False, default=None)
    act_mean: np.ndarray = field(repr=False, default=None)
    act_std: np.ndarray = field(repr=False, default=None)
    dead: np.ndarray = field(repr=False, default=None)
    saturated: np.ndarray = field(repr=False, default=None)
    hist_step: np.ndarray = field(repr=False, default=None)   # (H,) steps of the histogram rows
    hist_weight: np.ndarray = field(repr=False, default=None)
    hist_grad: np.ndarray = field(repr=False, default=None)
    hist_act: np.ndarray = field(repr=False, default=None)

    def __post_init__(self):
        L, S = len(self.layers), len(self.sites)
        R = 0 if self.step is None else len(np.asarray(self.step).reshape(-1))
        shapes = {**{k: () for k in PER_RECORD}, **{k: (L,) for k in PER_LAYER}, **{k: (S,) for k in PER_SITE}}
        for k, tail in shapes.items():
            v = getattr(self, k)
            dtype = np.int64 if k in INTS else np.float64 if k == "lr" else np.float32
            setattr(self, k, np.zeros((R, *tail), dtype) if v is None else np.asarray(v, dtype).reshape(R, *tail))
        if self.hist_step is None:
            self.hist_step = self.step.copy()
        self.hist_step = np.asarray(self.hist_step, np.int64).reshape(-1)
        H = len(self.hist_step)
        for k, n in (("hist_weight", L), ("hist_grad", L), ("hist_act", S)):
            v = getattr(self, k)
            setattr(self, k, np.zeros((H, n, BINS), np.uint32) if v is None else np.asarray(v, np.uint32).reshape(H, n, BINS))

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.step)

    @property
    def update_ratio(self) -> np.ndarray:
        """(R,L) ‖Δw‖/‖w‖ of each layer's real update (0 where the step was skipped)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.update_norm / self.weight_norm

    def plan(self) -> dict:
        return {k: getattr(self, k) for k in ("every", "window", "layers", "layer_kinds", "sites", "site_kinds")}

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in (*ARRAYS, "hist_step")}

    def take(self, rows, hist_rows=None) -> "Dynamics":
        """Only the records at indices `rows` (and histogram rows `hist_rows`, default: the same steps)."""
        rows = np.asarray(rows, np.int64)
        if hist_rows is None:
            hist_rows = np.flatnonzero(np.isin(self.hist_step, self.step[rows]))
        hist_rows = np.asarray(hist_rows, np.int64)
        a = {k: getattr(self, k)[rows] for k in PER_RECORD + PER_LAYER + PER_SITE}
        h = {k: getattr(self, k)[hist_rows] for k in (*HISTS, "hist_step")}
        return Dynamics(**self.plan(), **a, **h)

    def between(self, first: int, last: int) -> "Dynamics":
        """The records with first <= step <= last."""
        rows = np.flatnonzero((self.step >= first) & (self.step <= last))
        return self.take(rows, np.flatnonzero((self.hist_step >= first) & (self.hist_step <= last)))

    def thinned(self, points: int, columns: int | None = None) -> "Dynamics":
        """At most `points` records and `columns` histogram rows, evenly spaced, first and last kept."""
        hist = even_indices(len(self.hist_step), columns if columns is not None else points)
        return self.take(even_indices(len(self), points), hist)

    def __reduce__(self):
        """Pickled packed and compressed, once per object: a live copy is polled many times between
        updates (nets/server pickles a job's view for every watching tab) and is never changed in place."""
        packed = self.__dict__.get("_packed")
        if packed is None:
            arrays = {k: np.ascontiguousarray(v) for k, v in self.arrays().items()}
            layout = [(k, v.dtype.str, v.shape) for k, v in arrays.items()]
            packed = self.__dict__["_packed"] = (layout, zlib.compress(b"".join(v.tobytes() for v in arrays.values()), 1))
        return _unpack, (self.plan(), *packed)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_plan(cls, plan: dict) -> "Dynamics":
        return cls(**{k: plan[k] for k in ("every", "window", "layers", "layer_kinds", "sites", "site_kinds")})

    def extended(self, stats: dict) -> "Dynamics":
        """These records followed by a LayerStats event's (as asdict or the message's data)."""
        new = Dynamics(**self.plan(), **{k: stats[k] for k in ARRAYS})
        return concat([self, new])

    def to_message(self) -> dict:
        """Plain lists, for JSON (the live copy's transport)."""
        return {**self.plan(), **{k: v.tolist() for k, v in self.arrays().items()}}

    @classmethod
    def from_message(cls, d: dict) -> "Dynamics":
        return cls(**{f.name: d.get(f.name) for f in fields(cls)})


def _unpack(plan: dict, layout: list, packed: bytes) -> Dynamics:
    raw, arrays, at = bytearray(zlib.decompress(packed)), {}, 0  # writable arrays, like any others
    for name, dtype, shape in layout:
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        arrays[name] = np.frombuffer(raw, dtype, count=n // np.dtype(dtype).itemsize, offset=at).reshape(shape)
        at += n
    return Dynamics(**plan, **arrays)


def concat(parts: list[Dynamics]) -> Dynamics:
    """One Dynamics of several with the same plan, records in order."""
    first = parts[0]
    return Dynamics(**first.plan(), **{k: np.concatenate([getattr(p, k) for p in parts])
                                      for k in (*ARRAYS, "hist_step")})


def even_indices(n: int, k: int) -> np.ndarray:
    """At most k of range(n), evenly spaced, always the first and the last."""
    if n <= k:
        return np.arange(n)
    if k <= 1:
        return np.array([n - 1])
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64))

