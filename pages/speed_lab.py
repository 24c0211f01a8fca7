"""Speed lab: the CIFAR-10 speed-run recipe with each trick a switch; what turning one off costs in accuracy and time."""
import streamlit as st

from nets import speedlab
from nets.engine.catalog import availability
from nets.engine.config import PRESETS
from nets.engine.device import pick_device
from nets.status import Status
from nets.text import plain
from pages._common import ensure_app_entry
from pages._identity import access
from pages._jobs_panel import follow_ui, submit
from pages._service import data_dir, job_manager

ensure_app_entry()

RUNS = "sl_runs"       # the tab's jobs: {"ids": [...], "cfgs": [...]} (pages._jobs_panel)
DONE = "sl_done"       # job id → the tricks it ran without, for every job this tab started
PER_GROUP = 4          # a student's limit of queued and running jobs (nets.server.budget)


def preset_ui() -> tuple[str, dict]:
    """The recipe, and its epochs and images per class (a quick look on a CPU: fewer)."""
    names = list(speedlab.PRESET_NAMES)
    a, b, c = st.columns([3, 1, 1.2])
    preset = a.selectbox("Recipe", names, format_func=speedlab.PRESET_NAMES.get, key="sl_preset")
    base = PRESETS[preset]
    epochs = b.number_input("Epochs", 1, 50, base.epochs, key=f"sl_epochs_{preset}")
    per_class = c.number_input("Images per class", 0, 6000, base.train_per_class, 50, key=f"sl_subset_{preset}",
                               help="0: all the training images. Fewer train faster (and reach less).")
    state = availability(base.dataset, data_dir())
    device = pick_device("auto").type
    st.caption(plain(f"Device: {device}. Dataset {PRESETS[preset].dataset}: {state}.")
               + (" On a CPU the full CIFAR-10 recipe takes many minutes: the mini one is sized for it."
                  if device == "cpu" and preset == "airbench94" else ""))
    return preset, {"epochs": int(epochs), "train_per_class": int(per_class)}


def tricks_ui() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the tricks turned off for one run, the tricks to measure one at a time)."""
    names = list(speedlab.TRICKS)
    label = {n: speedlab.TRICKS[n].label for n in names}
    on = st.pills("Tricks on", names, selection_mode="multi", default=names, format_func=label.get, key="sl_on",
                  help="Click a trick to turn it off for the next run.")
    with st.expander("What each trick does"):
        for n in names:
            st.markdown(f"- **{label[n]}**: {speedlab.TRICKS[n].why}.")
    measure = st.multiselect("Measure these, one at a time turned off (beside the full recipe)", names,
                             default=names[:PER_GROUP - 1], max_selections=PER_GROUP - 1, format_func=label.get,
                             key="sl_measure")
    return tuple(n for n in names if n not in (on or [])), tuple(measure)


def run_ui(preset: str, changes: dict, off: tuple[str, ...], measure: tuple[str, ...]) -> None:
    a, b = st.columns(2)
    if a.button("▶ Run this recipe", type="primary", key="sl_run", width="stretch"):
        start(preset, changes, [off])
    if b.button("📏 Measure the chosen tricks", key="sl_measure_go", width="stretch", disabled=not measure,
                help="The full recipe and one run per chosen trick turned off, as one group."):
        start(preset, changes, [()] + [(t,) for t in measure])


def start(preset: str, changes: dict, offs: list[tuple[str, ...]]) -> None:
    cfgs = [speedlab.recipe(preset, off, **changes) for off in offs]
    if submit(RUNS, cfgs, group="speed lab"):
        done = st.session_state.setdefault(DONE, {})
        for job_id, off, cfg in zip(st.session_state[RUNS]["ids"], offs, cfgs):
            done[job_id] = {"off": list(off), "size": speedlab.size_text(cfg)}


def rows() -> list[speedlab.Row]:
    """Every completed run this tab started, measured."""
    out = []
    for job_id, asked in st.session_state.get(DONE, {}).items():
        v = job_manager().view(job_id, access())
        if v is None or v.status != Status.COMPLETED or not v.summary:
            continue
        train_s = speedlab.training_seconds(v.epochs, (v.started_info or {}).get("train_size", 0))
        out.append(speedlab.Row(tuple(asked["off"]), float(v.summary["best_test_acc"] or 0.0), train_s,
                                float(v.ended - v.started), asked["size"]))
    return out


def draw_table(found: list[speedlab.Row]) -> None:
    if not found:
        st.info("Run the recipe, or measure the tricks: each finished run is added to the table here.")
        return
    df = speedlab.table(found)
    shown = df.assign(**{  # a static table: it reads from the back of the room, and every cell is text
        "test accuracy": df["test accuracy"].map("{:.1%}".format),
        "Δ accuracy (points)": df["Δ accuracy (points)"].map(lambda v: "" if v != v or v is None else f"{v:+.1f}"),
        "training s": df["training s"].map("{:.1f}".format),
        "Δ training s": df["Δ training s"].map(lambda v: "" if v != v or v is None else f"{v:+.1f}"),
        "end-to-end s": df["end-to-end s"].map("{:.1f}".format)})
    st.table(shown.set_index(["size", "recipe"]))
    st.caption("Training: the epochs' images over their training throughput (evaluation left out). End to end: the "
               "job from its start to its end, "
               "with loading the data, building the model (and the whitening), compiling and the test evaluation "
               "(with test-time augmentation). Δ: against the full recipe's last run; one run each, so a point or "
               "so is noise.")


st.title("🏎️ Speed lab")
st.caption("The CIFAR-10 speed runs (airbench94: 94% in 3.83 s on one A100) are a stack of tricks. Here each one is "
           "a switch: turn it off, run, and see what it was worth in accuracy and in seconds.")
preset, changes = preset_ui()
off, measure = tricks_ui()
run_ui(preset, changes, off, measure)
follow_ui(RUNS, "Speed-lab runs")
draw_table(rows())
