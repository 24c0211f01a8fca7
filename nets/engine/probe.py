"""The layer statistics taken while `fit` trains (cfg.stats_every): gradient and weight norms, the real update Δw, activations, dead and saturated units, histograms.

Every `every` steps (and at step 1) one record is taken: each Linear/Conv weight W's norm, its
gradient's norm (after unscaling and clipping: what the optimiser used) and the norm of the update
the optimiser really made, Δw = W_after − W_before, so the update-to-weight ratio ‖Δw‖/‖W‖ is right
for momentum, Adam and weight decay alike (under plain SGD it is lr·‖g‖/‖W‖). Activation statistics
cover the `window` steps up to the record: forward hooks on the activation modules are armed only
then. Everything stays on the device until `flush`, called at the training loop's logging sync, so
the probe adds no host sync of its own.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from nets.engine import bins
from nets.engine.events import LayerStats, StatsPlan

MAX_RECORDS = 10_000   # a run keeps every record it takes; `every` is raised so there are at most this many
MAX_WINDOW = 2         # activation statistics cover at most this many steps up to a record
SAMPLE = 16_384        # values per histogram (stride-sampled; the norms and statistics use them all)
CONFIDENT = 0.99
SIGMOID_EDGE, TANH_EDGE = 0.01, 0.97   # saturated: sigmoid < .01 or > .99; tanh |a| > .97 (Karpathy's makemore)
# GELU has a negative lobe: neither dead nor saturated means anything for it, so only its mean and spread
KINDS = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.GELU: "gelu"}


def effective_every(every: int, epochs: int, batches: int) -> int:
    """`every`, raised so a run of epochs × batches steps takes at most MAX_RECORDS records."""
    return max(every, math.ceil(epochs * batches / MAX_RECORDS))


def unit_sum(a: torch.Tensor) -> torch.Tensor:
    """Each unit's outputs summed over the batch (and positions): a neuron's, or a conv channel's."""
    if a.dim() == 4 and a.is_contiguous(memory_format=torch.channels_last):
        return a.permute(0, 2, 3, 1).reshape(-1, a.shape[1]).sum(0)  # a view: one pass in memory order
    return a.sum(dim=[d for d in range(a.dim()) if d != 1]) if a.dim() > 1 else a.sum().reshape(1)


def sampled(x: torch.Tensor) -> torch.Tensor:
    """At most about SAMPLE values of `x`, evenly strided: a histogram's shape without a pass over millions."""
    flat = x.detach().reshape(-1)
    return flat[::max(1, -(-flat.numel() // SAMPLE))]  # at most SAMPLE


def _label(name: str, kind: str, k: int) -> str:
    """A weight layer's name on the charts: conv1, fc3 in a plain stack; the module's own name otherwise."""
    if all(part.isdigit() for part in name.split(".")):
        return f"{'conv' if kind == 'conv' else 'fc'}{k}"
    return name


def weight_layers(model: nn.Module) -> list[tuple[str, str, nn.Parameter]]:
    """(label, "linear"/"conv", W) of each trainable Linear and Conv, in module order. A network from
    the builder names its own layers ("Conv 2", "Res 1 · conv a"), as the builder's table does."""
    out, counts = [], {"linear": 0, "conv": 0}
    named = getattr(model, "layer_labels", None) or {}
    for name, m in model.named_modules():
        kind = "linear" if isinstance(m, nn.Linear) else "conv" if isinstance(m, nn.modules.conv._ConvNd) else None
        if kind and m.weight.requires_grad:
            counts[kind] += 1
            out.append((named.get(name) or _label(name, kind, counts[kind]), kind, m.weight))
    return out


class LayerProbe:
    """Hooks on a model's activations and the per-record arithmetic; `remove()` takes the hooks off."""

    def __init__(self, model: nn.Module, every: int, sample_input: torch.Tensor):
        self.every, self.window = every, min(every, MAX_WINDOW)
        self.layers = weight_layers(model)
        self.W = [w for _, _, w in self.layers]
        self.pending: list[dict] = []   # device tensors per record, until flush
        self.layer_offsets = None       # each sampled weight value's layer × BINS, built at the first record
        self.armed = self.record_now = False
        self.acts: dict[tuple[int, int], dict] = {}
        self.modules = [m for m in model.modules() if type(m) in KINDS]
        self.sites: list[tuple[int, int]] = []       # (module index, call number)
        self.site_names: list[str] = []
        self.site_kinds: list[str] = []
        self._discover(model, sample_input)
        self.calls = [0] * len(self.modules)
        self.handles = [m.register_forward_hook(self._hook(i)) for i, m in enumerate(self.modules)]

    def _discover(self, model: nn.Module, x: torch.Tensor) -> None:
        """One forward pass in eval mode to find each activation call and the weight layer run just before it."""
        order, label = [], {id(m): lbl for (lbl, _, _), m in zip(self.layers, self._weight_modules(model))}
        calls = [0] * len(self.modules)
        names = {id(m): n for n, m in model.named_modules()}
        own = getattr(model, "layer_labels", None) or {}  # a builder network: its activations' own labels
        hooks = [m.register_forward_hook(lambda mod, i, o, n=lbl: order.append(n))
                 for m in model.modules() if id(m) in label for lbl in [label[id(m)]]]
        for i, m in enumerate(self.modules):
            def seen(mod, inp, out, i=i):
                calls[i] += 1
                self.sites.append((i, calls[i]))
                self.site_kinds.append(KINDS[type(mod)])
                after = f" after {order[-1]}" if order else ""
                self.site_names.append(own.get(names.get(id(mod)), "") or f"{KINDS[type(mod)]}{after}")
            hooks.append(m.register_forward_hook(seen))
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                model(x)
        finally:
            model.train(was)
            for h in hooks:
                h.remove()
        for k, name in enumerate(self.site_names):  # the same name twice (a block's ReLU used twice): number them
            if self.site_names.count(name) > 1:
                self.site_names[k] = f"{name} #{self.site_names[:k + 1].count(name)}"

    def _weight_modules(self, model: nn.Module) -> list[nn.Module]:
        ids = {id(w) for w in self.W}
        return [m for m in model.modules() if getattr(m, "weight", None) is not None and id(m.weight) in ids]

    def plan(self) -> StatsPlan:
        return StatsPlan(self.every, self.window, [n for n, _, _ in self.layers], [k for _, k, _ in self.layers],
                         list(self.site_names), list(self.site_kinds))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    # ------------------------------------------------------------------ activations
    def _hook(self, i: int):
        def hook(module, inputs, out):
            if not self.armed:
                return
            self.calls[i] += 1
            acc = self.acts.get((i, self.calls[i]))
            if acc is not None:
                self._accumulate(acc, out.detach().float())
        return hook

    def _accumulate(self, acc: dict, a: torch.Tensor) -> None:
        kind = acc["kind"]
        n = a.numel()
        acc["n"] += n  # Σa and Σa² (as a norm): two fast passes where var_mean is ~50× slower on CPUs
        acc["sumsq"] += torch.linalg.vector_norm(a).double() ** 2
        if kind in ("relu", "leaky_relu"):
            # a unit fired if its outputs' sum is positive (ReLU outputs are never negative; a leaky
            # ReLU's negative side is cut first): sums are ~10× faster than amax over few channels
            per_unit = unit_sum(a)
            acc["sum"] += per_unit.sum().double()
            fired = (per_unit if kind == "relu" else unit_sum(a.clamp(min=0))) > 0
            acc["fired"] = fired if acc["fired"] is None else acc["fired"] | fired
        elif kind == "gelu":
            acc["sum"] += a.sum().double()
        else:
            acc["sum"] += a.sum().double()
            edge = SIGMOID_EDGE if kind == "sigmoid" else None
            sat = ((a - 0.5).abs() > 0.5 - edge) if edge else (a.abs() > TANH_EDGE)
            acc["sat"] += sat.sum()
        if self.record_now:
            acc["hist"] = bins.counts(sampled(a), kind if kind in bins.RANGES else "log")

    def arm(self, step: int) -> None:
        """Before step `step`'s forward pass: switch the hooks on inside a record's window."""
        to_go = (-step) % self.every
        self.record_now = step == 1 or to_go == 0
        self.armed = self.record_now or to_go < self.window
        if not self.armed:
            return
        self.calls = [0] * len(self.modules)
        if not self.acts:  # the window's first step
            zero = torch.zeros((), dtype=torch.float64, device=self.W[0].device) if self.W else torch.zeros(())
            self.acts = {site: {"kind": kind, "n": 0, "sum": zero.clone(), "sumsq": zero.clone(), "fired": None,
                                "sat": zero.clone(), "hist": None}
                         for site, kind in zip(self.sites, self.site_kinds)}

    # ------------------------------------------------------------------ weights and updates
    def before_step(self) -> None:
        """After backward (and clipping), before the optimiser: gradients and a copy of the weights."""
        if not self.record_now:
            return
        if not self.W:
            self.rec = {}
            return
        with torch.no_grad():  # multi-tensor (foreach) calls: a few kernel launches whatever the depth
            grads = [w.grad if w.grad is not None else torch.zeros_like(w) for w in self.W]
            self.before = torch._foreach_mul(self.W, 1.0)  # a copy, to measure the real update
            self.rec = {"weight_norm": torch.stack(torch._foreach_norm(self.before)),
                        "grad_norm": torch.stack(torch._foreach_norm(grads)),
                        "hist_weight": self._layer_counts(self.before), "hist_grad": self._layer_counts(grads)}

    def _layer_counts(self, tensors) -> torch.Tensor:
        """(L, BINS) log-|x| histograms of the layers' sampled values, in one bincount."""
        flat = torch.cat([sampled(t) for t in tensors])
        if self.layer_offsets is None:
            sizes = torch.tensor([len(sampled(t)) for t in tensors], device=flat.device)
            self.layer_offsets = torch.repeat_interleave(torch.arange(len(tensors), device=flat.device) * bins.BINS, sizes)
        found = torch.bincount(bins.bucket(flat) + self.layer_offsets, minlength=len(tensors) * bins.BINS)
        return found.view(len(tensors), bins.BINS)

    def after_step(self, step: int, epoch: int, batch: int, images_seen: int, lr: float, logits, y) -> None:
        """After the optimiser's step: the real update, the window's activation statistics, the output's confidence."""
        if not self.armed:
            return
        if not self.record_now:
            self.armed = False
            return
        rec, self.rec = self.rec, None
        if self.W:
            with torch.no_grad():
                rec["update_norm"] = torch.stack(torch._foreach_norm(torch._foreach_sub(self.W, self.before)))
        self.before = None
        p = torch.softmax(logits.detach().float(), dim=1)
        top, guess = p.max(dim=1)
        sure = top >= CONFIDENT
        rec["out"] = torch.stack([sure.float().mean(), (sure & (guess != y)).float().mean(), top.mean()])
        rec["sites"] = [self._site_numbers(self.acts[s]) for s in self.sites]
        rec["meta"] = (step, epoch, batch, images_seen, lr)
        self.pending.append(rec)
        self.acts, self.armed, self.record_now = {}, False, False

    @staticmethod
    def _site_numbers(acc: dict):
        """(mean, std, dead share, saturated share) as one device tensor, and the histogram."""
        n = max(acc["n"], 1)
        mean = acc["sum"] / n
        std = (acc["sumsq"] / n - mean * mean).clamp_min(0).sqrt()
        nan = torch.full_like(mean, float("nan"))
        if acc["kind"] in ("relu", "leaky_relu"):
            dead = (~acc["fired"]).double().mean() if acc["fired"] is not None else nan
            sat = nan
        elif acc["kind"] == "gelu":
            dead, sat = nan, nan
        else:
            dead, sat = nan, acc["sat"] / n
        hist = acc["hist"] if acc["hist"] is not None else torch.zeros(bins.BINS, dtype=torch.long, device=mean.device)
        return torch.stack([mean, std, dead, sat]), hist

    def flush(self) -> LayerStats | None:
        """The pending records as one event (one copy to the host), or None when there are none."""
        if not self.pending:
            return None
        recs, self.pending = self.pending, []
        L, S = len(self.W), len(self.sites)
        parts = []
        for r in recs:
            if L:
                parts += [r["weight_norm"].double(), r["grad_norm"].double(), r["update_norm"].double(),
                          r["hist_weight"].double().flatten(), r["hist_grad"].double().flatten()]
            if S:
                parts += [torch.stack([s[0] for s in r["sites"]]).flatten(),
                          torch.stack([s[1] for s in r["sites"]]).double().flatten()]
            parts.append(r["out"].double())
        flat = torch.cat([t.reshape(-1) for t in parts]).cpu().tolist()
        B = bins.BINS
        out = {k: [] for k in ("weight_norm", "grad_norm", "update_norm", "hist_weight", "hist_grad", "act_mean",
                               "act_std", "dead", "saturated", "hist_act", "out_confident", "out_confident_wrong",
                               "out_max_p")}
        pos = 0

        def take(n):
            nonlocal pos
            pos += n
            return flat[pos - n:pos]
        for r in recs:
            for k in ("weight_norm", "grad_norm", "update_norm"):
                out[k].append(take(L) if L else [])
            for k in ("hist_weight", "hist_grad"):
                h = take(L * B) if L else []
                out[k].append([[int(c) for c in h[i * B:(i + 1) * B]] for i in range(L)])
            s = take(4 * S) if S else []
            for j, k in enumerate(("act_mean", "act_std", "dead", "saturated")):
                out[k].append(s[j::4])
            h = take(S * B) if S else []
            out["hist_act"].append([[int(c) for c in h[i * B:(i + 1) * B]] for i in range(S)])
            for k, v in zip(("out_confident", "out_confident_wrong", "out_max_p"), take(3)):
                out[k].append(v)
        meta = list(zip(*[r["meta"] for r in recs]))
        return LayerStats(step=list(meta[0]), epoch=list(meta[1]), batch=list(meta[2]), images_seen=list(meta[3]),
                          lr=list(meta[4]), **out)
