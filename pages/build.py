"""Build a network: layer by layer, with every shape, parameter count and multiply-add as you edit, problems
named with one-click fixes, predict-then-reveal exercises, and Train this network."""
from __future__ import annotations

import streamlit as st

from nets.engine import netshape, netspec
from nets.engine.catalog import SHAPES, input_shape, menu_label, num_classes
from nets.engine.models import ModelError
from nets.engine.netbuild import TEMPLATES, copy_of, template
from nets.engine.options import SETTINGS
from nets.inspect import netview
from nets.link import build as links
from nets.runs import RunFilter
from nets.server.costs import estimate
from nets.text import plain
from pages import _build_exercises as drills, _build_ui as ui
from pages._common import ensure_app_entry
from pages._link import link_ui, problems_ui
from pages._service import data_dir, job_manager
from pages._train_form import current_config
from pages._train_state import load_train_config

ensure_app_entry()

LESSON_KEY = "build_lesson"
FROM_TRAIN = "train"  # "Start from": the Train form's network
S = st.session_state


# ------------------------------------------------------------------------------ kept choices
def kept(name: str, default):
    """A bar widget's value kept in a plain key (widget keys vanish when the user leaves the page)."""
    if f"builder_{name}" not in S:
        S[f"builder_{name}"] = S.get(f"builder_{name}_v", default)
    return f"builder_{name}"


def remember(name: str) -> None:
    S[f"builder_{name}_v"] = S[f"builder_{name}"]


def opened(got: links.BuildLink) -> dict:
    """A new Build link: its network, dataset, batch size and exercise."""
    S["builder_dataset_v"], S["builder_batch_v"] = got.dataset, got.batch_size
    S.pop("builder_dataset", None), S.pop("builder_batch", None)
    if got.exercise:
        drills.set_up(got.exercise, got.case)
    ui.set_spec(got.layers, select=0)
    return {}


def start_from() -> None:
    """The "Start from" menu's callback: a template on the chosen dataset, or a copy of the Train form's network."""
    key, shape = S[ui.START_BOX], input_shape(S["builder_dataset"])
    if key == ui.YOURS:
        return
    try:
        if key == FROM_TRAIN:
            cfg = current_config()
            layers = cfg.layers if cfg.model == "custom" else copy_of(cfg.model, cfg.model_kwargs(), shape)
        else:
            layers = template(key, shape)
    except ModelError as e:
        ui.say("error", str(e))
        return
    ui.set_spec(layers, select=0, start=key)


@st.cache_resource(show_spinner=False)
def warm() -> bool:
    """The first meta-device build in a process costs about a second: paid once, not by the first edit."""
    netview.builder_rows(template("lenet", (1, 28, 28)), (1, 28, 28), 10)
    return True


@st.cache_data(show_spinner=False, max_entries=256)
def table_rows(layers: tuple, shape: tuple, classes: int) -> list[dict]:
    return netview.builder_rows(layers, shape, classes)


def bar_ui(layers, analysis) -> tuple[str, int]:
    """Dataset, Start from, batch size, Train this network, Undo."""
    data, start, batch, train, back = st.columns([2.2, 2.2, 1.2, 1.8, 1.2], vertical_alignment="bottom")
    dataset = data.selectbox("Dataset", list(SHAPES), key=kept("dataset", "mnist-mini"), on_change=remember,
                             args=("dataset",), format_func=lambda d: menu_label(d, data_dir()))
    menu = {ui.YOURS: "Your network, as edited", **TEMPLATES, FROM_TRAIN: "The Train form's network"}
    S.setdefault(ui.START_BOX, "empty" if not layers else ui.YOURS)
    start.selectbox("Start from", list(menu), key=ui.START_BOX, on_change=start_from,
                    format_func=menu.get, help="Loads a network in place of this one (Undo brings it back).")
    batch_size = batch.number_input("Batch size", key=kept("batch", 64), on_change=remember, args=("batch",),
                                    **SETTINGS["batch_size"].widget())
    train.button("Train this network", key="builder_train", type="primary", width="stretch",
                 disabled=not analysis.ok or not layers, on_click=to_train, args=(layers, dataset, batch_size),
                 help="Opens the Train form with this network, this dataset and batch size.")
    back.button("↶ Undo", key="builder_undo_btn", width="stretch", on_click=ui.undo,
                disabled=not S.get(ui.UNDO_KEY))
    return dataset, int(batch_size)


def to_train(layers, dataset: str, batch_size: int) -> None:
    load_train_config(links.train_config(current_config(), layers, dataset, batch_size))
    S["builder_go_train"] = True  # st.switch_page cannot run in a callback


def summary_ui(layers, analysis, dataset: str, batch_size: int) -> None:
    shape, classes = input_shape(dataset), num_classes(dataset)
    memory, verdict = None, ""
    if analysis.ok and layers:
        cfg = links.train_config(current_config(), layers, dataset, batch_size)
        try:
            memory = estimate(cfg).memory_mb
        except Exception:  # noqa: BLE001 (budget_problem below says so, in words)
            memory = None
        problem = job_manager().budget_problem(cfg)
        verdict = f" · ✗ {plain(problem)}" if problem else " · ✓ trains on this server"
    st.markdown(netview.summary(analysis, shape, classes, memory, batch_size) + verdict)


def below_ui(layers, dataset: str, batch_size: int) -> None:
    """The text form, pasting one, the lesson link."""
    with st.expander("The network as text, and as a lesson link"):
        st.code(netspec.to_text(layers) or "(empty)", language=None, wrap_lines=True)
        paste, load = st.columns([5, 1], vertical_alignment="bottom")
        paste.text_input("Paste a network's text", key="builder_paste", max_chars=netspec.MAX_TEXT,
                         placeholder="conv_6_k5_p2,relu,maxpool_2,flatten,linear")
        load.button("Load", key="builder_load", on_click=load_text, width="stretch")
        active, case = drills.active_exercise()
        st.markdown("**Copy as lesson link**")
        st.code(links.encode(layers, dataset, batch_size, active.key if active else "", case,
                             base_url=st.context.url), language=None, wrap_lines=True)
        st.caption("Students who open it get this page with this network (and the exercise, if one is set up). "
                   "Anatomy shows this network too (architecture: custom), module by module.")


def load_text() -> None:
    try:
        layers = netspec.from_text(S.get("builder_paste", ""))
    except netspec.SpecError as e:
        ui.say("error", f"That text is not a network: {e}")
        return
    ui.set_spec(layers, select=0)


def my_mnist_runs() -> list:
    """This user's custom runs on mnist, newest first (the run index, owner-checked)."""
    from pages._runpick import find_runs
    rows, _ = find_runs(RunFilter(scope="mine", dataset="mnist", model="custom"), limit=20, count=False)
    return rows


warm()
title, pop = st.columns([3, 1.3], vertical_alignment="bottom")
title.title("🧱 Build a network")
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem}</style>")
problems_ui(link_ui(LESSON_KEY, links.decode, opened))
with pop.popover("🔮 Exercises: predict, then reveal", width="stretch"):
    drills.exercise_ui(my_mnist_runs)
if S.pop("builder_go_train", False):
    st.switch_page("pages/train.py")
ui.message_ui()
layers = ui.spec()
dataset = S.get("builder_dataset", S.get("builder_dataset_v", "mnist-mini"))
shape, classes = input_shape(dataset), num_classes(dataset)
analysis = netshape.analyse(layers, shape, classes)
dataset, batch_size = bar_ui(layers, analysis)
summary_ui(layers, analysis, dataset, batch_size)
drills.exercise_line(layers, analysis)
ui.problems_ui(analysis)
rows = table_rows(layers, shape, classes)
left, right = st.columns([7, 3])
with left:
    ui.table_ui(rows)
with right:
    ui.editor_ui(rows, analysis)
below_ui(layers, dataset, batch_size)
