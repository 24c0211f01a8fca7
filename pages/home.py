"""Home: what the app is, one-click starts that train at once, what this machine has ready, the newest runs."""
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.engine.config import FOUR_CONFIGS_BASE, PRESETS, ConfigError, four_configs
from nets.engine.models import ModelError
from nets.files import CheckpointError
from nets.text import plain
from nets.engine.catalog import availability_rows, default_data_dir
from nets.engine.device import device_name
from nets.runs.table import runs_table
from pages._common import ensure_app_entry
from pages._identity import identity, session_owner
from pages._runpick import find_runs
from pages._service import job_manager
from pages._train_state import TRAIN_EDIT_KEY, load_train_config
from pages._train_live import attach

LESSON = Path(__file__).resolve().parent.parent / "assets" / "home.md"
RECENT = 8  # the newest runs Home lists; the Runs page filters and pages through all of them
RUN_COLUMNS = ["name", "test accuracy", "status", "model", "dataset"]

ensure_app_entry()

# (button, what it trains, config, as the four configurations). All three use bundled data, so they
# work on a machine with no network; the times were measured on a shared 2-core CPU (README).
QUICK_STARTS = [
    ("MNIST in a minute", "LeNet on the bundled MNIST digits, 5 epochs: under 10 seconds on a CPU.",
     PRESETS["mnist-minute"], False),
    ("The four optimizer/loss configurations", "cnn5 on the bundled Fashion-MNIST: SGD and Adam × "
     "cross-entropy and squared error, 20 epochs each: 1½–5 minutes for all four on a CPU.",
     FOUR_CONFIGS_BASE, True),
    ("ResNet-18 from scratch", "The coursework's recipe (SGD 0.01, cosine schedule, clipping, early "
     "stopping) on the bundled Fashion-MNIST, 10 epochs: about 1–2 minutes on a CPU.",
     PRESETS["resnet18-scratch-mini"], False),
]


def start(cfg, four: bool) -> None:
    """One click: the job is submitted as the Train page's Train button submits it (the job service
    checks the budget, the quota and the owner) and the Train page opens on its live panel, with the
    form filled behind Edit settings. A student not signed in yet lands on Train with the form filled,
    where the sidebar asks for their name. A refusal is said here, in words."""
    load_train_config(cfg, four)
    if not identity():
        st.switch_page("pages/train.py")
    manager = job_manager()
    try:
        if (why := manager.budget_problem(cfg)):
            raise ConfigError(why)
        if four:
            jobs = manager.submit_group(four_configs(cfg), owner=session_owner())
            attach(jobs[0].id, jobs[0].group)
        else:
            attach(manager.submit(cfg, owner=session_owner()).id)
    except (ConfigError, ModelError, CheckpointError) as e:
        st.error(plain(e))
        return
    st.session_state[TRAIN_EDIT_KEY] = False  # the live panel takes the screen
    st.switch_page("pages/train.py")


# ------------------------------------------------------------------------------ drawing
def draw_quick_starts() -> None:
    st.subheader("Start here")
    signed_in = bool(identity())
    for col, (label, what, cfg, four) in zip(st.columns(len(QUICK_STARTS)), QUICK_STARTS):
        with col.container(border=True):
            st.markdown(f"**{label}**  \n{what}")
            if st.button("▶ Train now" if signed_in else "Open in Train", key=f"preset-{label}", type="primary",
                         help=None if signed_in else "Sign in with your name first (Train asks for it)."):
                start(cfg, four)


def draw_machine() -> None:
    st.subheader("This machine")
    st.metric("Training device", device_name())
    st.dataframe(pd.DataFrame(availability_rows(default_data_dir())), hide_index=True, width="stretch")


def draw_recent_runs() -> None:
    st.subheader("Saved runs")
    rows, total = find_runs(limit=RECENT)  # a student: their own, shared and ownerless runs
    if not rows:
        st.info("No saved runs yet: press **MNIST in a minute** above.")
        return
    st.dataframe(pd.DataFrame(runs_table(rows), columns=RUN_COLUMNS), hide_index=True, width="stretch",
                 column_config={"name": st.column_config.TextColumn(width=200),  # long names scroll, not the rest
                                "test accuracy": st.column_config.ProgressColumn(
                                    min_value=0, max_value=1, format="percent", width=110)})
    st.page_link("pages/runs.py", icon="📊", label=f"The {len(rows)} most recent of {total:,} — all in Runs"
                 if total > len(rows) else "Compare them in Runs")


# ------------------------------------------------------------------------------ the page
st.title("🧠 Neural Net Lab")
st.markdown(LESSON.read_text())
draw_quick_starts()
left, right = st.columns(2)
with left:
    draw_machine()
with right:
    draw_recent_runs()
