"""Data lab: what a skewed or mislabelled training set does to a model, measured per class, and finding the bad labels again."""
from pathlib import Path

import streamlit as st

from nets.datalab import labelcheck, plan
from nets.engine.config import ConfigError
from nets.engine.data import DatasetError
from nets.runs import CheckpointError, get_run
from nets.status import Status
from nets.text import plain
from pages._cached import run_evaluation
from pages._common import ensure_app_entry
from pages._jobs_panel import follow_ui, held, submit
from pages._datalab_ui import describe_ui, draw_check, draw_results, draw_sets, prepared, setup_ui
from pages._service import checkpoints_root

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "data_lab.md"
PAIR, CLEANED = "dl_pair", "dl_cleaned"
PROBLEMS = (CheckpointError, ConfigError, DatasetError, ValueError, OSError)


def finished_runs(views) -> list | None:
    """The runs of jobs that all completed; None (after saying why) otherwise."""
    if any(v.status != Status.COMPLETED for v in views):
        st.warning(plain("Not every training completed: " + ", ".join(f"{v.label}: {v.status}" for v in views)
                         + ". Change the settings or press the button again."))
        return None
    return [get_run(checkpoints_root(), v.run_id) for v in views]


def experiment_ui(clean, modified) -> list | None:
    """Train both (one group), follow them; the two runs once they completed."""
    same = held(PAIR) and st.session_state[PAIR]["cfgs"] == [clean.to_dict(), modified.to_dict()]
    label = "Train again on both sets" if same else "▶ Train on the clean and the modified set"
    if st.button(label, type="primary", key="dl_train",
                 help="Two trainings side by side, as one group: the same model, seed and epochs; only the "
                      "training set differs. They appear on Runs too."):
        if submit(PAIR, [clean, modified], group="data lab"):
            st.session_state.pop(CLEANED, None)
            same = True
    if not same:
        if held(PAIR):
            st.caption("The settings changed since the last trainings: press the button to train these.")
        return None
    views = follow_ui(PAIR, "Training on the clean and the modified set")
    return None if views is None else finished_runs(views)


SETS = {"flipped": "the flipped set (the app knows which labels it flipped)",
        "clean": "the clean set as it is (nobody knows which labels are wrong)"}


def check_ui(clean, modified, runs, noise: bool) -> None:
    """Find the bad labels: cross-validation, cleanlab, retraining without the flags; scored against the flips
    when the app made them, shown as suggestions when nobody knows (a dataset's own labels, your images)."""
    st.subheader("Find the bad labels again")
    a, b = st.columns([2.2, 1])
    if noise:
        which = a.radio("Look in", list(SETS), format_func=SETS.get, horizontal=True, key="dl_check_set")
    else:
        which = "clean"
        a.markdown(f"Look in {SETS['clean']}: no label was flipped in this lesson.")
    k = b.radio("Folds of cross-validation", plan.FOLDS, horizontal=True, key="dl_folds",
                help="Each image is scored by a model trained on the other folds: k trainings, then one more "
                     "without the flagged labels.")
    source, run_before = (modified, runs[1]) if which == "flipped" else (clean, runs[0])
    cleaned = plan.cleaned(source, int(k))
    same = held(CLEANED) and st.session_state[CLEANED]["cfgs"] == [cleaned.to_dict()]
    if st.button(f"🔎 Find them ({k}-fold cross-validation, then retrain without them)", key="dl_check"):
        same = submit(CLEANED, [cleaned], group="data lab")
    if not same:
        return
    views = follow_ui(CLEANED, f"Cross-validation ({k} folds), cleanlab, then training without the flags")
    done = None if views is None else finished_runs(views)
    if not done:
        return
    check = labelcheck.load(done[0])
    if check is None:
        st.error("This run kept no label check (label-issues.npz).")
        return
    accuracies = {"Clean set": run_evaluation(runs[0]).accuracy}
    if which == "flipped":
        accuracies["Flipped"] = run_evaluation(run_before).accuracy
    accuracies["Flags dropped"] = run_evaluation(done[0]).accuracy
    draw_check(check, prepared(clean), accuracies)  # the clean split: the label check's indices point into it


st.title("🧪 Data lab")
st.caption("Change the training set (flip labels, cut classes down, keep fewer images), train on it beside the "
           "clean set, and see what the model learnt from it, class by class.")
with st.expander("What this lab shows"):
    st.markdown(LESSON.read_text())
try:
    base, lesson, classes = setup_ui()
    clean, modified = plan.pair(base, lesson)
    if modified == clean:
        st.info("Choose at least one class to cut down.")
        st.stop()
    sets, act = st.columns([1.7, 1], gap="large")
    with act:  # beside the chart: what the sliders did, and the button, above the fold at 1366×768
        describe_ui(modified, classes)
        runs = experiment_ui(clean, modified)
    with sets:
        draw_sets(clean, modified)
    if runs:
        draw_results(runs, {runs[0].id: "Clean set", runs[1].id: "Modified set"}, modified.data_mod)
        check_ui(clean, modified, runs, noise=lesson.kind == "noise")
except PROBLEMS as e:
    st.error(plain(e))
