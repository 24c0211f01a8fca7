"""Per-layer parameter table (layer, type, input size, output size, parameters) for any nn.Module."""
# Shapes are discovered by running one dummy forward pass with hooks, so they are what the model
# really does rather than what its constructor arguments suggest.
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerRow:
    name: str
    type: str
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    params: int
    trainable: int


def _fmt_size(size: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in size)


@dataclass
class Summary:
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]

    def records(self) -> list[dict]:
        return [
            {"layer": r.name, "type": r.type, "input size": _fmt_size(r.input_size),
             "output size": _fmt_size(r.output_size), "params": r.params, "trainable": r.trainable}
            for r in self.rows
        ]

    def __str__(self) -> str:
        header = ("Layer", "Type", "Input", "Output", "Params")
        body = [(r.name, r.type, _fmt_size(r.input_size), _fmt_size(r.output_size), f"{r.params:,}")
                for r in self.rows]
        widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]

        def line(cells) -> str:
            # Text columns left-aligned, the parameter count right-aligned so digits line up.
            return "  ".join(c.rjust(w) if i == len(cells) - 1 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths)))

        rule = "-" * len(line(header))
        frozen = self.total_params - self.trainable_params
        return "\n".join([
            line(header), rule, *(line(row) for row in body), rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {frozen:,}",
            f"Input: {_fmt_size(self.input_size)}   Output: {_fmt_size(self.output_size)}",
        ])


def _first_tensor(x) -> torch.Tensor | None:
    """Depth-first search for a tensor, since modules may take or return tuples, lists or dicts
    (an LSTM returns (output, (h, c)))."""
    if isinstance(x, torch.Tensor):
        return x
    items = x.values() if isinstance(x, dict) else x if isinstance(x, (tuple, list)) else ()
    for item in items:
        t = _first_tensor(item)
        if t is not None:
            return t
    return None


def _per_sample(x) -> tuple[int, ...]:
    t = _first_tensor(x)
    return tuple(t.shape[1:]) if t is not None else ()


def summarize(model: nn.Module, input_size: tuple[int, ...],
              device: str | torch.device = "cpu") -> Summary:
    rows: list[LayerRow] = []
    counted: set[int] = set()  # ids of parameters already attributed to a row

    def own_params(module: nn.Module) -> tuple[int, int]:
        # Count each parameter once: a module called twice, or weights tied between two
        # modules, must not inflate the table beyond model.parameters().
        new = [p for p in module.parameters(recurse=False) if id(p) not in counted]
        counted.update(id(p) for p in new)
        return sum(p.numel() for p in new), sum(p.numel() for p in new if p.requires_grad)

    # Leaves are the layers a student thinks in; containers that own parameters directly
    # (e.g. a learned class token) are included too, otherwise their weights would vanish.
    targets = [(name or "(model)", m) for name, m in model.named_modules()
               if not any(True for _ in m.children()) or any(True for _ in m.parameters(recurse=False))]

    open_rows: dict[int, list[LayerRow]] = {}  # per module, a stack: a module may call itself

    def make_hooks(name: str, module: nn.Module):
        # The pre-hook claims the row so rows follow call order (a container's row precedes
        # its children's); the post-hook fills in the output size.
        def pre(mod, args):
            params, trainable = own_params(mod)
            row = LayerRow(name, type(mod).__name__, _per_sample(args), (), params, trainable)
            rows.append(row)
            open_rows.setdefault(id(mod), []).append(row)

        def post(mod, args, output):
            open_rows[id(mod)].pop().output_size = _per_sample(output)

        return module.register_forward_pre_hook(pre), module.register_forward_hook(post)

    handles = [h for name, m in targets for h in make_hooks(name, m)]
    # Eval mode so dropout/batch-norm behave deterministically and don't update running stats;
    # the modes are saved per module because a user may deliberately mix them (frozen BN).
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            # Batch of 2, not 1: batch norm left in train mode rejects a batch of one, and a
            # forward that calls .squeeze() would silently drop a batch dimension of size 1.
            output = model(torch.zeros(2, *input_size, device=device))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode

    # Modules never reached in forward still own parameters; list them so the table sums to the total.
    for name, m in targets:
        params, trainable = own_params(m)
        if params:
            rows.append(LayerRow(name, type(m).__name__, (), (), params, trainable))

    all_params = list(model.parameters())
    return Summary(
        rows=rows,
        total_params=sum(p.numel() for p in all_params),
        trainable_params=sum(p.numel() for p in all_params if p.requires_grad),
        input_size=tuple(input_size),
        output_size=_per_sample(output),
    )
