"""From scratch: train the NumPy network live, beside its PyTorch twin, or compare activations. As on
the Train page, Train sits in a bar at the top and the live panel takes the screen while the settings
fold away (Edit settings brings them back), so a projector at 1366×768 shows Stop and the charts."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import streamlit as st

from nets.engine.catalog import download_notice, menu_label
from nets.parse import ParseError
from nets.plots import by_epoch
from nets.scratch.lab import (INIT_LABELS, SCALE_LABELS, LabSettings, LabView, describe_layers, lab_datasets,
                             parse_hidden)
from nets.scratch.network import HIDDEN_ACTIVATIONS, INITS, ScratchError
from nets.server.waits import queued_text
from nets.status import Status
from nets.scratch.report import (COMPARE_COLORS, LESSONS, NUMPY, curves, evidence_text, lesson_sections,
                                 lessons_before_training, progress, results_table)
from nets.text import plain
from pages._common import ensure_app_entry
from pages._identity import access, session_owner
from pages._service import data_dir, job_manager

ensure_app_entry()

CFG_KEY, WIDGET_PREFIX, JOB_KEY, EDIT_KEY = "scratch_cfg", "sw_", "scratch_job", "scratch_editing"
POLL_EVERY = 1.0
INTRO, SECTIONS = lesson_sections((Path(__file__).resolve().parent.parent / "assets" / "scratch.md").read_text())


def lesson(key: str, extra: str = "") -> None:
    with st.container(border=True):
        st.markdown(f"💡 **{LESSONS[key]}**  \n{SECTIONS[LESSONS[key]]}" + (f"\n\n{extra}" if extra else ""))


def widget(kind, label: str, field: str, value, **kwargs):
    """Seeded from the stored settings: widget keys are dropped when the user leaves the page."""
    key = WIDGET_PREFIX + field
    if key not in st.session_state:
        st.session_state[key] = value
    return kind(label, key=key, **kwargs)


def settings_ui() -> tuple[dict, str | None]:
    saved = st.session_state.setdefault(CFG_KEY, asdict(LabSettings()))
    problem = None
    left, mid, right = st.columns(3)
    with left:
        where = data_dir()
        dataset = widget(st.selectbox, "Dataset", "dataset", saved["dataset"],
                         options=lab_datasets(),
                         format_func=lambda d: menu_label(d, where))
        notice = download_notice(dataset, where)
        if notice:
            st.info(notice)
        hidden_text = widget(st.text_input, "Hidden layer sizes", "hidden", ",".join(map(str, saved["hidden"])))
        try:
            hidden = parse_hidden(hidden_text)
        except ParseError as e:
            hidden, problem = tuple(saved["hidden"]), str(e)
        activation = widget(st.selectbox, "Hidden activation", "activation", saved["activation"],
                            options=list(HIDDEN_ACTIVATIONS))
    with mid:
        init = widget(st.selectbox, "Weight initialisation", "init", saved["init"], options=INITS,
                      format_func=INIT_LABELS.get)
        scale = widget(st.selectbox, "Initial weights' standard deviation", "scale", str(saved["scale"]),
                       options=list(SCALE_LABELS), format_func=SCALE_LABELS.get, disabled=init == "zero")
        seed = widget(st.number_input, "Seed", "seed", saved["seed"], min_value=0, step=1)
    with right:
        lr = widget(st.number_input, "Learning rate", "lr", float(saved["lr"]), min_value=0.0, format="%g", step=0.01)
        epochs = widget(st.number_input, "Epochs", "epochs", saved["epochs"], min_value=1, max_value=500)
        batch_size = widget(st.number_input, "Batch size", "batch_size", saved["batch_size"], min_value=1,
                            max_value=4096)
        twin = widget(st.checkbox, "Train the PyTorch twin beside it", "twin", saved["twin"])
    values = dict(dataset=dataset, hidden=hidden, activation=activation, init=init, scale=scale, lr=float(lr),
                  epochs=int(epochs), batch_size=int(batch_size), seed=int(seed), twin=bool(twin))
    st.session_state[CFG_KEY] = {**saved, **values}
    st.caption(describe_layers(hidden, activation, init, scale))
    try:
        LabSettings(**values).check()  # the rules the job service applies, said before Train is pressed
    except ScratchError as e:
        problem = problem or str(e)
    return values, problem


def view(job_id: str | None):
    """The lab job's state (nets.scratch.lab.LabView), None when it is gone or not this session's."""
    v = job_manager().view(job_id, access()) if job_id else None
    return v if isinstance(v, LabView) else None  # a training job's id shows nothing here


def start(values: dict, mode: str) -> None:
    """The run goes to the server's job service: it waits its turn like a Train job, and the data is
    loaded (or downloaded) by the job, which reports how far it got."""
    owner = session_owner()
    try:
        job = job_manager().submit_lab(LabSettings(**values, mode=mode), owner=owner)
    except ScratchError as e:
        st.error(plain(e))
        return
    st.session_state[JOB_KEY] = job.id
    st.session_state[EDIT_KEY] = False  # the live panel takes the screen; Edit settings brings the form back
    st.rerun()


def stop(job_id: str) -> None:
    job_manager().stop(job_id, access())  # who is asking is checked inside, at the click


def progress_ui(v) -> None:
    """The progress line with Stop beside it: one row, so the charts below stay on the screen."""
    line, button = st.columns([6, 1], vertical_alignment="bottom") if v.active else (st.container(), None)
    with line:
        if v.status == Status.QUEUED:
            st.info(queued_text(v.position, v.wait_s))
        elif v.status == Status.RUNNING and not v.runs and v.phase:  # loading or downloading the data
            st.progress(min(max(v.phase_fraction or 0.0, 0.0), 1.0), text=v.phase)
        else:
            fraction, text = progress(v)
            st.progress(fraction, text=text)
    if button is not None:
        button.button("Stop", key=f"stop-{v.id}", on_click=stop, args=(v.id,), type="primary", width="stretch")


def charts_ui(v) -> None:
    if not v.runs:
        st.caption("The curves appear when the first epoch ends.")
        return
    # Compared activations keep one colour each from the first epoch on, whichever have appeared.
    colors = COMPARE_COLORS if v.settings.mode == "compare" else None
    left, right = st.columns(2)
    left.altair_chart(by_epoch(curves(v, "loss"), "loss", "Loss by epoch", colors=colors), width="stretch")
    right.altair_chart(by_epoch(curves(v, "accuracy"), "accuracy", "Accuracy by epoch", colors=colors),
                       width="stretch")


def outcome_ui(v) -> None:
    if v.status == Status.FAILED:
        st.error(plain(v.error or "Training failed."))
        if v.error_details:
            with st.expander("Details"):
                st.code(v.error_details, language=None, wrap_lines=True)
        return
    if v.active:
        return
    table = results_table(v)
    if len(table):
        st.subheader("Final accuracies")
        pct = st.column_config.NumberColumn(format="percent")
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"train acc": pct, "validation acc": pct, "test acc": pct})
    for key in v.lessons():
        lesson(key, evidence_text(v, key))
    weights = v.weights.get(NUMPY)
    if weights:
        st.download_button("Download the weights (.npz)", weights, file_name="scratch-weights.npz",
                           mime="application/octet-stream")


def live_ui() -> None:
    job_id = st.session_state.get(JOB_KEY)
    v = view(job_id)
    if job_id and v is None:
        st.warning("That run is no longer on this server (it was restarted or cleared), or it is not yours.")
        st.session_state[JOB_KEY] = None
    if v is None:
        return
    active = v.active

    @st.fragment(run_every=POLL_EVERY if active else None)
    def live():
        now = view(job_id)
        if now is None:
            st.rerun()  # gone while watched (the server cleared it): the page says so
        progress_ui(now)
        charts_ui(now)
        outcome_ui(now)
        if active and not now.active:
            st.rerun()  # once, so that polling switches itself off

    live()


# ------------------------------------------------------------------------------ the page
def editing() -> bool:
    """The settings are open unless a run is on show and the user has not asked to edit them."""
    return st.session_state.get(EDIT_KEY, True) or not st.session_state.get(JOB_KEY)


def stored_settings() -> tuple[dict, str | None]:
    """The settings as last chosen, checked, while the form is folded away (its widgets not drawn)."""
    saved = st.session_state.setdefault(CFG_KEY, asdict(LabSettings()))
    values = {k: saved[k] for k in ("dataset", "hidden", "activation", "init", "scale", "lr", "epochs",
                                    "batch_size", "seed", "twin")}
    try:
        LabSettings(**values).check()
    except (ScratchError, TypeError, ValueError) as e:
        return values, str(e)
    return values, None


def bar_ui(values: dict, problem: str | None, running: bool) -> None:
    """Train, Compare activations and Edit/Hide settings in one row at the top; buttons as wide as
    their words, so no label is cut."""
    blocked = problem is not None or running
    with st.container(horizontal=True, vertical_alignment="center"):
        train = st.button("Train", type="primary", disabled=blocked, width="content")
        compare = st.button("Compare activations (ReLU, tanh, sigmoid, linear)", disabled=blocked,
                            width="content")
        if not editing():
            st.button("Edit settings", width="content", on_click=lambda: st.session_state.update({EDIT_KEY: True}))
        elif st.session_state.get(JOB_KEY):
            st.button("Hide settings", width="content", on_click=lambda: st.session_state.update({EDIT_KEY: False}))
    if train:
        start(values, "single")
    if compare:
        start(values, "compare")


st.title("✍️ A network from scratch (NumPy)")
# Less empty space around the title: at 1366×768 the bar, the live panel and its charts (with the four
# activations' legend) fit one screen.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:1.5rem}"
        "[data-testid='stMainBlockContainer'] h1{padding-top:0.5rem;padding-bottom:0.25rem}</style>")
bar, live, settings = st.container(), st.container(), st.container()
finished = view(st.session_state.get(JOB_KEY))
with settings:
    if editing():
        st.markdown(INTRO)
        values, problem = settings_ui()
        for key in lessons_before_training(values["init"], values["activation"],
                                           finished.lessons() if finished else ()):
            lesson(key)
        if problem:
            st.error(plain(problem))
    else:
        values, problem = stored_settings()
        if problem:
            st.error(plain(problem))
running = bool(finished and finished.active)
with bar:
    bar_ui(values, problem, running)
with live:
    live_ui()
