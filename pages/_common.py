"""Shared Streamlit plumbing for the pages (not a page itself): cached resources and settings.

Settings come from the environment once per call, never from module globals, so tests can point
the app at temporary folders: NNLAB_CHECKPOINTS, NNLAB_DATA_DIR, NNLAB_MAX_JOBS.
"""
from __future__ import annotations

import gc
import os
import runpy
from pathlib import Path

import streamlit as st
import torch

from nets.config import TrainConfig
from nets.data import ImageData, default_data_dir, load_dataset
from nets.jobs import JobManager
from nets.runs import DEFAULT_ROOT, Run, get_run, load_model


def ensure_app_entry() -> None:
    """Call first on every page, before any widget. On a fresh server a first visit straight to
    /train finds a pages/ folder and runs the page alone through Streamlit's legacy discovery,
    without app.py's navigation and sidebar (streamlit#9624); AppTest does the same on every run.
    Then run app.py here instead: it sets up navigation and runs this same page, in this same run,
    so no widget event is lost."""
    from streamlit.runtime.pages_manager import PagesManager
    if PagesManager.uses_pages_directory:
        runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
        st.stop()


def checkpoints_root() -> Path:
    return Path(os.environ.get("NNLAB_CHECKPOINTS") or DEFAULT_ROOT)


def data_dir() -> Path:
    return default_data_dir()


def torch_threads() -> int:
    """Intra-op threads for training in the server: torch's default (one per core) unless
    $NNLAB_TORCH_THREADS says otherwise. Measured on 2 cores with a page watching (tests/bench_app.py):
    one thread trained at half the command line's speed, two at 87%. Lower it when other heavy
    processes share the machine: two threads crawl when another process takes a core."""
    wanted = os.environ.get("NNLAB_TORCH_THREADS")
    return int(wanted) if wanted else torch.get_num_threads()


@st.cache_resource(show_spinner=False)
def warm_up() -> bool:
    torch.set_num_threads(torch_threads())
    # The first optimizer in a process imports torch._dynamo (~1 s, holding the import lock), and
    # Streamlit's post-run gc pass is slow with torch's objects around: do both once, up front.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()
    gc.collect()
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def _job_manager(checkpoints: str, data: str, max_running: int, per_session: int, budget_mb: int) -> JobManager:
    return JobManager(checkpoints, data, max_running=max_running, max_per_owner=per_session,
                      disk_budget_mb=budget_mb)


def job_manager() -> JobManager:
    """The server's jobs. A CPU trains one job at a time well; a GPU has room for two small ones."""
    warm_up()
    env = os.environ.get
    return _job_manager(str(checkpoints_root()), str(data_dir()),
                        int(env("NNLAB_MAX_JOBS") or (2 if torch.cuda.is_available() else 1)),
                        int(env("NNLAB_JOBS_PER_SESSION") or 1), int(env("NNLAB_DISK_BUDGET_MB") or 5000))


def session_owner() -> str:
    """An id for this browser tab's session, to tag its jobs (one running job per session)."""
    if "owner" not in st.session_state:
        import uuid
        st.session_state["owner"] = uuid.uuid4().hex
    return st.session_state["owner"]


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def dataset(name: str, data: str, folder: str = "", image_size: int = 32) -> ImageData:
    """A whole dataset (train and test) as tensors, shared by every session. Never modify it."""
    return load_dataset(name, data, download=True, folder=folder or None, image_size=image_size)


def run_dataset(run: Run) -> ImageData:
    cfg = run.config
    return dataset(cfg.dataset, str(data_dir()), cfg.folder, cfg.image_size)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _model(root: str, run_id: str, mtime: float) -> torch.nn.Module:
    return load_model(get_run(root, run_id))


def run_model(run: Run) -> torch.nn.Module:
    """The run's best model, cached until its weights file changes. Shared: never train it."""
    return _model(str(run.path.parent), run.id, (run.path / "model.pt").stat().st_mtime)


# The Train page's form lives in a plain session key (widget keys vanish when the user leaves a page).
TRAIN_CFG_KEY, TRAIN_WIDGET_PREFIX = "train_cfg", "tw_"


def load_train_config(cfg: TrainConfig, four_configs: bool = False) -> None:
    """Fill the Train page's form with `cfg` on its next run (a preset, a doctor's follow-up)."""
    st.session_state[TRAIN_CFG_KEY] = cfg.to_dict()
    for key in [k for k in st.session_state if str(k).startswith(TRAIN_WIDGET_PREFIX)]:
        del st.session_state[key]
    st.session_state[TRAIN_WIDGET_PREFIX + "four"] = four_configs
    st.session_state["train_editing"] = True  # the form opens, showing what was filled in


@st.cache_resource(show_spinner="Evaluating on the test set…", max_entries=16)
def _evaluation(root: str, run_id: str, mtime: float):
    from nets.compare import evaluate_run
    run = get_run(root, run_id)
    return evaluate_run(run, run_model(run), run_dataset(run))


def run_evaluation(run: Run):
    """The run's evaluation on its test set, cached until its weights file changes."""
    return _evaluation(str(run.path.parent), run.id, (run.path / "model.pt").stat().st_mtime)


def lecturer_password() -> str:
    """The lecturer's password from Streamlit secrets (.streamlit/secrets.toml); '' when none."""
    try:
        return str(st.secrets.get("lecturer_password", "") or "")
    except Exception:  # no secrets file at all: a laptop, single-user
        return ""


def access():
    """What this session may do with runs (see nets.access)."""
    from nets.access import Access
    return Access(session_owner(), bool(st.session_state.get("lecturer")), not lecturer_password())


@st.cache_data(max_entries=16, show_spinner=False)
def decode_image(data: bytes, filename: str):
    """Image bytes read safely (nets.imageio), cached by the bytes themselves."""
    from nets.imageio import MAX_BYTES, read_image
    return read_image(data, MAX_BYTES, filename=filename)


def upload_image_ui():
    """An uploaded image, decoded, and its file name; stops the page with a plain message when
    there is none or it is not a usable image."""
    from nets.imageio import MAX_BYTES, SUFFIXES, ImageError, check_size
    # No per-widget size limit: the browser would refuse a big file with only a red icon while the
    # previous file's result stayed on the page. The server takes it and check_size says why not.
    upload = st.file_uploader(f"Upload a PNG, JPEG, WebP, BMP or GIF image (at most {MAX_BYTES // 2**20} MB)",
                              type=list(SUFFIXES))
    if upload is None:
        st.info(f"Choose an image file (at most {MAX_BYTES // 2**20} MB).")
        st.stop()
    try:
        check_size(upload.size)  # the browser's limit is not enforced by the server
        return decode_image(upload.getvalue(), upload.name), upload.name
    except ImageError as e:
        st.error(f"{upload.name}: {e}")
        st.stop()
