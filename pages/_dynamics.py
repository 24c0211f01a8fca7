"""Inside training (not a page): the layer statistics on the Train page's live panel (a caption line,
the "Inside the network" charts, the histogram heat map below) and for saved runs on Runs (a step
range, one metric per layer in small multiples, heat maps side by side)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nets.charts.dynamics import (HEATS, MAX_LAYERS, METRICS, heat_png, layer_lines, metric_frame, names_of, picked,
                                  small_multiples, LIVE_LAYERS)
from nets.coach.dynamics import findings
from nets.engine.stats import Dynamics, even_indices
from nets.plots import MAX_POINTS
from nets.runs import Run, get_run
from nets.runs.compare import run_labels
from nets.runs.dynamics import chunk_names, has_dynamics, read_dynamics
from nets.text import plain
from nets.training_work import JobView

BY_EPOCH, INSIDE = "By epoch", "Inside the network"
VIEW_KEY, VIEW_PICK = "train_inside_view", "train_inside_pick"     # the choice, and its widget
HEAT_KEY, HEAT_PICK = "train_inside_heat", "train_inside_heat_pick"
SHOW_KEY, SHOW_PICK = "runs_inside_show", "runs_inside_show_pick"    # Runs: the statistics drawn or not
NO_ALARM = "🩺 Inside: no alarms so far"
CAPTION_CHARS = 84           # one line of the progress bar's text beside the side column at 1366×768
HEAT_COLUMNS = 200           # histogram columns drawn on Runs (the live copy holds at most 48)
SLIDER_STEPS = 500           # steps offered by the range pick (every record stays in the file)
HEAT_CAPTION = ("Each strip is one layer: the fixed histogram bins from bottom (0) to top, one column per recorded "
                "step. Colour: how many values fell in the bin (log scale; each column scaled to its fullest bin: "
                "yellow). A gradient that vanishes moves down its strip.")


# ------------------------------------------------------------------------------ the Train page
def _kept(widget: str, key: str, options: list[str]) -> str:
    """A segmented control's choice kept in a plain session key (a keyed widget forgets its value
    when the page is left); a click on the chosen segment keeps it chosen."""
    if st.session_state.get(widget) in options:
        st.session_state[key] = st.session_state[widget]
    choice = st.session_state.get(key)
    choice = choice if choice in options else options[0]
    st.session_state[widget] = choice
    return choice


def with_stats(v: JobView) -> bool:
    """The job has layer statistics, or will have: the rows are drawn from the start, so the charts
    do not move down when the first statistics arrive."""
    return v.dynamics is not None or (v.active and v.config.stats_every > 0)


def panel_columns(v: JobView):
    """The live panel's heading and side columns. While a job with statistics runs, the side holds the
    switch above Stop (so it is wider), and both stack their rows 4 px apart instead of 16: the line
    the statistics add to the progress text costs the charts below no height. Once the job ended, the
    outcome takes 2 of 5."""
    head, side = st.columns(([5, 2] if with_stats(v) else [6, 1]) if v.active else [3, 2],
                            vertical_alignment="bottom")
    if v.active and with_stats(v):
        return head.container(gap="xxsmall"), side.container(gap="xxsmall")
    return head, side


def inside_line(v: JobView) -> str:
    """A second line for the progress bar's text while a job has statistics (Markdown, plain): the first
    finding, or "no alarms so far"; always there and never longer than a line, so nothing below it moves."""
    if not with_stats(v):
        return ""
    found = findings(v.dynamics)
    text = "🩺 " + found[0].text if found else NO_ALARM if v.active else "🩺 Inside: no alarms in this run"
    short = plain(text if len(text) <= CAPTION_CHARS else text[:CAPTION_CHARS - 1] + "…")
    return "  \n:small[" + short + "]"  # small: the charts below stay on a 1366×768 screen


def inside_switch_ui(v: JobView, side) -> None:
    """The switch between the epoch charts and the Inside ones: above Stop while the job runs, under
    the progress bar once it ended (the outcome takes the side)."""
    if not with_stats(v):
        return
    _kept(VIEW_PICK, VIEW_KEY, [BY_EPOCH, INSIDE])
    with side if v.active else st.container():
        st.segmented_control("Charts", [BY_EPOCH, INSIDE], key=VIEW_PICK, label_visibility="collapsed")


def inside_charts_ui(v: JobView, mid, right) -> bool:
    """The second and third chart columns while "Inside the network" is chosen: gradient norm and
    update ratio per layer. False (nothing drawn) when the epoch charts are to be drawn instead."""
    d = v.dynamics
    if not with_stats(v) or st.session_state.get(VIEW_KEY) != INSIDE:
        return False
    if d is None or not len(d):
        mid.info("The first statistics come after the first training step.")
        return True
    mid.altair_chart(layer_lines(d, "gradient norm", "Gradient norm per layer, by step"), width="stretch")
    right.altair_chart(layer_lines(d, "update ratio", "Update ratio per layer, by step"), width="stretch")
    return True


def live_inside_ui(v: JobView) -> None:
    """Below the live panel (reached by scrolling), while "Inside the network" is chosen: the layer ×
    step histogram heat map so far (a PNG each redraw: not drawn for the epoch charts)."""
    d = v.dynamics
    if d is None or not len(d.hist_step) or st.session_state.get(VIEW_KEY) != INSIDE:
        return
    st.markdown("**Inside the network: histograms over the steps**")
    which = _kept(HEAT_PICK, HEAT_KEY, list(HEATS))
    st.segmented_control("Histograms of", list(HEATS), key=HEAT_PICK)
    per = HEATS[which][1]
    st.image(heat_png(d, which, layers=picked(names_of(d, per), LIVE_LAYERS), width=900))
    st.caption(HEAT_CAPTION)


# ------------------------------------------------------------------------------ Runs
@st.cache_resource(show_spinner="Reading the layer statistics…", max_entries=8)
def _read(root: str, run_id: str, chunks: tuple[str, ...]) -> Dynamics | None:
    return read_dynamics(get_run(root, run_id))


def run_dynamics(run: Run) -> Dynamics | None:
    """Every recorded step of a saved run, cached until another chunk is written. Shared by every
    session: never change it (between and thinned make copies)."""
    chunks = tuple(sorted(chunk_names(run)))
    return _read(str(run.path.parent), run.id, chunks) if chunks else None


def facet_names(d: Dynamics, per: str) -> list[str]:
    """Layer names for the small multiples: activation sites by where they sit ("after fc1"), so a
    sigmoid and a ReLU network's sites share a panel."""
    names = names_of(d, per)
    return [n.split(" ", 1)[1] if per == "site" and " after " in f" {n}" else n for n in names]


def runs_inside_ui(selected: list[Run]) -> None:
    """Inside training for the selected runs with statistics (the first two: colour = run), behind a
    switch that the session keeps: drawn, it costs a page run a few hundred milliseconds."""
    labels = run_labels(selected)
    recorded = [r for r in selected if has_dynamics(r)]
    if not recorded:
        st.caption(("This run recorded no" if len(selected) == 1 else "None of the selected runs recorded")
                   + " layer statistics: nothing to show of inside training (the Train form's settings turn them on).")
        return
    st.subheader("Inside training")
    if SHOW_PICK not in st.session_state:  # a keyed widget forgets its value when the page is left
        st.session_state[SHOW_PICK] = bool(st.session_state.get(SHOW_KEY))
    st.session_state[SHOW_KEY] = st.toggle("Show the layer statistics over the training steps", key=SHOW_PICK)
    if not st.session_state[SHOW_KEY]:
        return
    found = [(r, d) for r in recorded if (d := run_dynamics(r)) is not None and len(d)]
    lacking = [labels[r.id] for r in selected if r.id not in {x.id for x, _ in found}]
    if lacking:
        st.caption(plain("No layer statistics in: " + ", ".join(lacking) + "."))
    if not found:
        return
    if len(found) > 2:
        st.caption(plain(f"Compared: the first two runs with statistics, {labels[found[0][0].id]} and "
                         f"{labels[found[1][0].id]}."))
        found = found[:2]
    ids = [r.id for r, _ in found]
    steps = np.unique(np.concatenate([d.step for _, d in found]))
    options = [int(s) for s in steps[even_indices(len(steps), SLIDER_STEPS)]]
    first, last = options[0], options[-1]
    if len(options) > 1:
        first, last = st.select_slider("Training steps", options, value=(first, last),
                                       key="runs_steps_" + "_".join(ids))
    metric = st.radio("Per layer", list(METRICS), horizontal=True, key="runs_inside_metric")
    parts = [(r, d.between(first, last).thinned(MAX_POINTS, HEAT_COLUMNS)) for r, d in found]
    names = [labels[r.id] for r, _ in parts]
    per = METRICS[metric][1]
    frames, order = [], []
    for r, d in parts:
        own = facet_names(d, per)
        cols = picked(own, MAX_LAYERS)
        order += [own[j] for j in cols if own[j] not in order]
        f = metric_frame(d, metric, labels[r.id], layers=cols)
        frames.append(f.assign(layer=f["layer"].map(dict(zip(names_of(d, per), own)))))
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        st.info(f"No {metric} in these steps: dead units are counted for ReLUs, saturated ones for sigmoid "
                "and tanh.")
    else:
        if any(len(names_of(d, per)) > MAX_LAYERS for _, d in parts):
            st.caption(f"{MAX_LAYERS} layers shown: the first, the last and evenly between.")
        st.altair_chart(small_multiples(frame, metric, order, names), width="content")
    which = st.radio("Histograms of", list(HEATS), horizontal=True, key="runs_inside_heat")
    columns = st.columns(len(parts))
    for (r, d), col in zip(parts, columns):
        per = HEATS[which][1]
        col.image(heat_png(d, which, layers=picked(names_of(d, per), MAX_LAYERS), width=900 // len(parts),
                           title=labels[r.id]))
    st.caption(HEAT_CAPTION + (" Both runs' maps use the same bins and steps." if len(parts) == 2 else ""))
