"""A printable report of runs (one self-contained HTML file that prints cleanly to PDF): configurations, the parameter table with its formulas, curves, inside training (layer statistics and the doctor's findings), confusion matrices with best and worst class, first mistakes."""
from __future__ import annotations

import base64
import html
import math
import time
from pathlib import Path

from nets.coach.dynamics import findings
from nets.engine.stats import UPDATE_RATIO_GOOD, even_indices
from nets.export.material import RunMaterial, Sample, confusion_png, gather
from nets.export.result import Exported, file_stem
from nets.plots import HEIGHT, METRICS, PALETTE, SPLITS, epoch_axis, exploding, loss_title, nice_step, value_axis

CSS_FILE = Path(__file__).resolve().parents[2] / "assets" / "report.css"
WIDTH, MARGIN = 640, (74, 20, 30, 48)      # chart pixels; margins left, right, top, bottom
CHAR_PX = 9                                 # about how wide a legend character is (16 px font)
INSIDE_LAYERS, INSIDE_POINTS = 6, 200       # inside training: the layers drawn, the points per line
LAYER_COLUMNS = [("layer", ""), ("type", ""), ("details", ""), ("output size", ""),
                 ("size formula", "formula"), ("params", "num"), ("formula", "formula")]
e = html.escape


def export_report(runs, dataset=None, title: str = "Neural Net Lab: training report") -> Exported:
    """The selected runs as one HTML page (charts drawn inline, pictures embedded: it works offline
    and prints to PDF from the browser). `dataset(run)` gives a run's ImageData (default: from disk)."""
    runs = list(runs)
    material = gather(runs, dataset)
    return Exported(report_name(runs), render(material, title).encode("utf-8"), "text/html")


def report_name(runs) -> str:
    """The report's file name (a page needs it before the report is built)."""
    runs = list(runs)
    return file_stem("nnlab-report-" + (runs[0].id if len(runs) == 1 else f"{len(runs)}-runs")) + ".html"


def render(material: list[RunMaterial], title: str) -> str:
    made = time.strftime("%Y-%m-%d %H:%M")
    parts = [f"<header><h1>{e(title)}</h1><p class='meta'>{len(material)} run{'s' * (len(material) > 1)}"
             f" · made {made} with Neural Net Lab</p>"
             "<p class='hint noprint'>To save it as a PDF: print this page (Ctrl+P or ⌘P) and choose "
             "“Save as PDF”. Each run starts on a new page.</p></header>",
             overview(material), *(run_section(m) for m in material)]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{e(title)}</title><style>\n{CSS_FILE.read_text()}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


# ----------------------------------------------------------------------------- tables
def cell(value, digits: int = 4) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def table(header: list[str], rows: list[list[str]], classes: list[str] | None = None,
          row_classes: list[str] | None = None) -> str:
    """Cells are HTML already; `classes` per column ('num', 'formula'), `row_classes` per row."""
    classes = classes or [""] * len(header)
    row_classes = row_classes or [""] * len(rows)
    head = "".join(f"<th class='{c}'>{h}</th>" for h, c in zip(header, classes))
    body = "".join(f"<tr class='{rc}'>" + "".join(f"<td class='{c}'>{v}</td>" for v, c in zip(row, classes)) + "</tr>"
                   for row, rc in zip(rows, row_classes))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def overview(material: list[RunMaterial]) -> str:
    header = ["run", "dataset", "model", "test accuracy", "test loss", "best epoch", "parameters",
              "best class", "worst class"]
    rows = []
    for m in material:
        s = m.summary()
        acc = f"{s['test accuracy']:.2%}" if "test accuracy" in s else "—"
        best = f"{e(s['best class'])} ({s['best class accuracy']:.0%})" if "best class" in s else "—"
        worst = f"{e(s['worst class'])} ({s['worst class accuracy']:.0%})" if "worst class" in s else "—"
        params = s.get("params (total)")
        rows.append([e(m.label), e(m.run.config.dataset), e(m.run.config.model), acc, cell(s.get("test loss")),
                     cell(s.get("best epoch")), f"{params:,}" if params is not None else "—", best, worst])
    num = ["", "", "", "num", "num", "num", "num", "", ""]
    parts = ["<section class='overview'><h2>Runs</h2>", table(header, rows, num), config_table(material)]
    if len(material) > 1:
        lines = [(m.label, PALETTE[i % len(PALETTE)], SPLITS["test"][2], points(m, "test", "accuracy"))
                 for i, m in enumerate(material)]
        parts.append("<div class='charts'>" + figure(svg_chart(lines, "accuracy", "Test accuracy by run", "accuracy"),
                                                     "Held-out accuracy after each epoch, one colour per run.") + "</div>")
    return "".join(parts) + "</section>"


def config_table(material: list[RunMaterial]) -> str:
    """Every setting that some run has, a column per run; with several runs, the settings that
    differ are shaded. Settings empty in every run (no folder, no backbone…) are left out."""
    configs = [m.config for m in material]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    rows, marks = [], []
    for k in keys:
        values = [cell(c.get(k)) for c in configs]
        if all(v == cell(None) for v in values):
            continue
        rows.append([f"<b>{e(k)}</b>"] + [e(v) for v in values])
        marks.append("differs" if len(material) > 1 and len(set(values)) > 1 else "")
    note = " Shaded rows differ between the runs." if len(material) > 1 else ""
    return (f"<h3>Configuration</h3><p class='meta'>The training settings as saved with each run.{note}</p>"
            + table(["setting"] + [e(m.label) for m in material], rows, row_classes=marks))


def layer_rows(m: RunMaterial) -> str:
    if not m.layers:
        return "<p class='meta'>No parameter table: the model could not be built here.</p>"
    rows = [[e(f"{r[c]:,}" if c == "params" else cell(r[c])) for c, _ in LAYER_COLUMNS] for r in m.layers]
    total = sum(r["params"] for r in m.layers)
    rows.append(["total", "", "", "", "", f"{total:,}", ""])
    return table([c for c, _ in LAYER_COLUMNS], rows, [k for _, k in LAYER_COLUMNS],
                 [""] * len(m.layers) + ["total"])


# ----------------------------------------------------------------------------- one run
def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(content: str, caption: str = "", cls: str = "") -> str:
    return f"<figure class='{cls}'>{content}" + (f"<figcaption>{e(caption)}</figcaption>" if caption else "") + "</figure>"


def sample_figure(s: Sample) -> str:
    picture = (f"<img src='{data_uri(s.png)}' alt='test image {s.index}'>" if s.png
               else "<div class='meta'>(image not on this server)</div>")
    return figure(picture, f"#{s.index}: {s.true} → {s.predicted} ({s.confidence:.0%})")


def run_section(m: RunMaterial) -> str:
    info = m.run.info
    parts = [f"<section class='run'><h2>{e(m.label)}</h2>",
             f"<p class='meta'>run {e(m.run.id)} · {e(str(info.get('status', '')))} · trained "
             f"{e(str(info.get('created', '')))} · {cell(info.get('seconds'), 3)} s on {e(str(info.get('device', '?')))}</p>"]
    parts += [f"<p class='notes'>{e(n)}</p>" for n in m.notes]
    parts += ["<h3>Parameters per layer</h3>",
              "<p class='meta'>Each count follows from the layer's shape, as in the lecture: a convolution has "
              "(k·k·C<sub>in</sub>+1)·C<sub>out</sub>, a fully connected layer (n<sub>in</sub>+1)·n<sub>out</sub>.</p>",
              layer_rows(m), "<h3>Training curves</h3>"]
    loss_kind = m.run.config.loss
    charts = [svg_chart([(SPLITS[s][0], SPLITS[s][1], SPLITS[s][2], points(m, s, kind)) for s in SPLITS],
                        kind, kind.capitalize(), loss_title([loss_kind]) if kind == "loss" else "accuracy")
              for kind in ("loss", "accuracy")]
    parts.append("<div class='charts'>" + "".join(figure(c) for c in charts) + "</div>")
    parts.append(inside_section(m))
    ev = m.evaluation
    if ev is not None:
        (b, b_acc), (w, w_acc) = ev.best_class(), ev.worst_class()
        confused = "; ".join(f"{t} taken for {p} {n}×" for t, p, n in ev.most_confused(3))
        parts += ["<h3>Confusion matrix (test set)</h3>",
                  figure(f"<img src='{data_uri(confusion_png(ev))}' alt='confusion matrix'>",
                         f"Test accuracy {ev.accuracy:.2%} on {len(ev.labels):,} images. Rows: true class; "
                         "columns: predicted class; shade: share of the row.", "matrix"),
                  f"<p><b>Best class:</b> {e(b)} ({b_acc:.1%} right). <b>Worst class:</b> {e(w)} ({w_acc:.1%} right)."
                  + (f" <b>Most confused:</b> {e(confused)}." if confused else "") + "</p>",
                  "<h3>First mistakes</h3>"]
        parts.append("<div class='samples'>" + "".join(sample_figure(s) for s in m.mistakes) + "</div>"
                     if m.mistakes else "<p>No mistakes on the test set.</p>")
    return "".join(parts) + "</section>"


def inside_section(m: RunMaterial) -> str:
    """Per-layer gradient norm and update ratio against the training step (log axes, the 1e-3 rule),
    and one line per finding of the training doctor; '' for a run without layer statistics."""
    d = m.dynamics
    if d is None or not len(d):
        return ""
    shown = even_indices(len(d.layers), INSIDE_LAYERS).tolist()  # the first, the last, evenly between
    t = d.thinned(INSIDE_POINTS)
    colours = [PALETTE[k % len(PALETTE)] for k in range(len(shown))]

    def lines(values) -> list[tuple]:  # a log axis: zeros (a skipped step) and inf are left out
        return [(d.layers[j], c, None, [(float(x), float(y)) for x, y in zip(t.step, values[:, j])
                                        if math.isfinite(y) and y > 0]) for j, c in zip(shown, colours)]
    rule = (UPDATE_RATIO_GOOD, "1e-3: healthy")
    charts = [figure(svg_chart(lines(t.grad_norm), "log", "Gradient norm per layer", "‖gradient‖",
                               x_title="training step"),
                     "A gradient that shrinks towards the input layers vanishes."),
              figure(svg_chart(lines(t.update_ratio), "log", "Update ratio per layer", "‖Δw‖ / ‖w‖",
                               x_title="training step", rules=[rule]),
                     "The optimiser's real step over the weights' size; about 1e-3 (dashed) is healthy.")]
    found = findings(d)
    which = (f" ({len(shown)} of {len(d.layers)} layers: the first, the last and evenly between)"
             if len(shown) < len(d.layers) else "")
    return ("<h3>Inside training</h3>"
            f"<p class='meta'>{len(d):,} records, one every {d.every} steps, steps {int(d.step[0]):,} to "
            f"{int(d.step[-1]):,}{e(which)}; drawn with at most {INSIDE_POINTS} points per line.</p>"
            "<div class='charts'>" + "".join(charts) + "</div>"
            + ("<ul class='findings'>" + "".join(f"<li>{e(f.text)}</li>" for f in found) + "</ul>" if found
               else "<p>The training doctor found no alarms in the layer statistics.</p>"))


# ----------------------------------------------------------------------------- charts (inline SVG)
def points(m: RunMaterial, split: str, kind: str) -> list[tuple[float, float]]:
    key = next(k for k, s, a in METRICS.values() if s == split and a == kind)
    return [(float(h["epoch"]), float(h[key])) for h in m.history
            if h.get(key) is not None and math.isfinite(float(h[key]))]


def y_scale(ys: list[float], kind: str, y_title: str):
    """(value → axis units, axis domain, ticks in axis units, tick label, title): linear with
    nets.plots.value_axis, or log10 for an exploding loss (on a linear axis every early point sits on
    0) and for kind 'log' (norms and ratios spanning decades)."""
    if kind != "log" and not (kind == "loss" and exploding(ys)):
        domain, ticks, fmt = value_axis(ys, kind)
        return (lambda v: v), domain, ticks, (lambda t: format(t, fmt)), y_title
    floor_value = min((y for y in ys if y > 0), default=1.0)

    def log(v: float) -> float:
        return math.log10(max(v, floor_value))
    pad = 0.3 if kind == "log" else 0.0  # lines and rules off the frame
    lo, hi = math.floor(min(map(log, ys)) - pad), math.ceil(max(map(log, ys)) + pad)
    hi = max(hi, lo + 1)
    every = math.ceil((hi - lo) / 8)  # at most about 8 ticks, however many decades
    return log, (lo, hi), list(range(lo, hi + 1, every)), (lambda t: f"1e{t}"), y_title + ", log scale"


def svg_chart(lines: list[tuple], kind: str, title: str, y_title: str, x_title: str = "epoch",
              rules: list[tuple[float, str]] = ()) -> str:
    """Lines (label, colour, dash, points) against epoch, following nets.plots' rules: whole epochs,
    a value axis that never zooms into noise, a log axis for an exploding loss (or kind 'log'), the
    legend on top. Another x_title (training step) gets a 1-2-5 axis; `rules` are dashed (value, label) lines."""
    lines = [line for line in lines if line[3]]
    if not lines:
        return f"<p class='meta'>No {e(x_title)}s recorded.</p>"
    ys = [y for *_, pts in lines for _, y in pts]
    to_axis, (y0, y1), ticks, label, y_title = y_scale(ys + [v for v, _ in rules], kind, y_title)
    xs = [x for *_, pts in lines for x, _ in pts]
    if x_title == "epoch":
        (x0, x1), _ = epoch_axis(xs)
        x_step = max(1, math.ceil((x1 - x0) / 10))
        first_tick, dots = math.ceil(x0), True
    else:
        x0, x1 = (min(xs), max(xs)) if max(xs) > min(xs) else (min(xs) - 0.5, max(xs) + 0.5)
        x_step = max(1, int(nice_step(x1 - x0, 6)))
        first_tick, dots = math.ceil(x0 / x_step) * x_step, max(len(pts) for *_, pts in lines) <= 30
    legend, lx, ly = [], MARGIN[0], MARGIN[2] + 4  # entries left to right, wrapping
    for name, colour, dash, _ in lines:
        width = 48 + CHAR_PX * len(name)
        if lx + width > WIDTH and lx > MARGIN[0]:
            lx, ly = MARGIN[0], ly + 22
        legend.append(f"<line x1='{lx}' y1='{ly}' x2='{lx + 32}' y2='{ly}' stroke='{colour}' stroke-width='3'"
                      f"{dasharray(dash)}/><text x='{lx + 38}' y='{ly + 5}'>{e(name)}</text>")
        lx += width
    top = ly + 20
    height = top + HEIGHT - MARGIN[2]
    left, right, bottom = MARGIN[0], WIDTH - MARGIN[1], height - MARGIN[3]

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1) * (right - left)

    def py(axis_value: float) -> float:
        return bottom - (axis_value - y0) / ((y1 - y0) or 1) * (bottom - top)

    out = [f"<svg viewBox='0 0 {WIDTH} {height:.0f}' role='img' aria-label='{e(title)}' xmlns='http://www.w3.org/2000/svg'>",
           f"<text x='{left}' y='16' font-weight='600'>{e(title)}</text>", *legend]
    for t in ticks:
        out.append(f"<line class='grid' x1='{left}' x2='{right}' y1='{py(t):.1f}' y2='{py(t):.1f}'/>"
                   f"<text x='{left - 6}' y='{py(t) + 5:.1f}' text-anchor='end'>{e(label(t))}</text>")
    for t in range(first_tick, math.floor(x1) + 1, x_step):
        out.append(f"<line stroke='#888' x1='{px(t):.1f}' x2='{px(t):.1f}' y1='{bottom}' y2='{bottom + 5}'/>"
                   f"<text x='{px(t):.1f}' y='{bottom + 21}' text-anchor='middle'>{t:,}</text>")
    for value, name in rules:
        y = py(to_axis(value))
        out.append(f"<line class='rule' stroke='#555' stroke-dasharray='6 4' x1='{left}' x2='{right}' y1='{y:.1f}' "
                   f"y2='{y:.1f}'/><text x='{right - 4}' y='{y - 6:.1f}' text-anchor='end' stroke='white' stroke-width='4' "
                   f"paint-order='stroke'>{e(name)}</text>")
    out += [f"<line stroke='#888' x1='{left}' x2='{right}' y1='{bottom}' y2='{bottom}'/>",
            f"<text x='{(left + right) / 2:.0f}' y='{height - 4:.0f}' text-anchor='middle'>{e(x_title)}</text>",
            f"<text transform='translate(18 {(top + bottom) / 2:.0f}) rotate(-90)' text-anchor='middle'>{e(y_title)}</text>"]
    for _, colour, dash, pts in lines:
        xy = [(px(x), py(to_axis(y))) for x, y in pts]
        out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2.5'{dasharray(dash)} points='"
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "'/>")
        out += [f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{colour}'/>" for x, y in xy if dots]
    return "".join(out) + "</svg>"


def dasharray(dash) -> str:
    return "" if not dash or dash[1] == 0 else f" stroke-dasharray='{dash[0]} {dash[1]}'"
