"""Shared Streamlit plumbing for the pages (not a page itself): cached resources and settings.

Settings come from the environment once per call, never from module globals, so tests can point
the app at temporary folders: NNLAB_CHECKPOINTS, NNLAB_DATA_DIR, NNLAB_MAX_JOBS.
"""
from __future__ import annotations

import gc
import os
import runpy
from dataclasses import replace
from pathlib import Path

import streamlit as st
import torch

from nets.engine.catalog import default_data_dir
from nets.engine.config import TrainConfig
from nets.engine.data import ImageData, load_dataset
from nets.runs import DEFAULT_ROOT, CheckpointError, PAGE_SIZE, Run, RunFilter, RunRow, get_run, index, load_model, stored_evaluation
from nets.server.jobs import JobManager


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
    server_log()  # job failures, lost workers and page errors to the log, and to the Server page
    # The first optimizer in a process imports torch._dynamo (~1 s, holding the import lock), and
    # Streamlit's post-run gc pass is slow with torch's objects around: do both once, up front.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()
    gc.collect()
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def _job_manager(checkpoints: str, data: str, max_running: int, per_session: int, budget_mb: int,
                 backend: str) -> JobManager:
    manager = JobManager(checkpoints, data, max_running=max_running, max_per_owner=per_session,
                         disk_budget_mb=budget_mb, backend=backend)
    if manager.pool is not None:
        manager.pool.start()  # warm workers now: the first student's job does not wait for imports
    return manager


@st.cache_resource(show_spinner="Joining the Ray cluster…")
def _ray_jobs(address: str, checkpoints: str, data: str, max_running: int | None, per_session: int,
              budget_mb: int, cpus_per_job: float):
    from nets.server.ray_jobs import RayJobs, connect
    connect(address)
    return RayJobs(checkpoints, data, max_running=max_running, max_per_owner=per_session,
                   disk_budget_mb=budget_mb, cpus_per_job=cpus_per_job)


def job_manager() -> JobManager:
    """The server's jobs, trained in worker processes ($NNLAB_JOB_BACKEND=thread: in this one).
    A CPU trains one job at a time well; a GPU has room for two small ones. With $NNLAB_RAY_ADDRESS
    set, the department cluster's one queue instead (nets.server.ray_jobs.RayJobs: the same methods); a
    missing ray package, an unreachable cluster or an unwritable checkpoints folder stops the page
    with what to fix."""
    warm_up()
    env = os.environ.get
    if env("NNLAB_RAY_ADDRESS"):
        from nets.server.ray_jobs import ClusterError
        try:
            return _ray_jobs(env("NNLAB_RAY_ADDRESS"), str(checkpoints_root()), str(data_dir()),
                             int(env("NNLAB_MAX_JOBS") or 0) or None, int(env("NNLAB_JOBS_PER_SESSION") or 1),
                             int(env("NNLAB_DISK_BUDGET_MB") or 5000), float(env("NNLAB_RAY_CPUS_PER_JOB") or 1))
        except ClusterError as e:
            st.error(str(e))
            st.stop()
    return _job_manager(str(checkpoints_root()), str(data_dir()),
                        int(env("NNLAB_MAX_JOBS") or (2 if torch.cuda.is_available() else 1)),
                        int(env("NNLAB_JOBS_PER_SESSION") or 1), int(env("NNLAB_DISK_BUDGET_MB") or 5000),
                        env("NNLAB_JOB_BACKEND") or "process")


IDENTITY_KEY, TOKEN_KEY = "identity", "identity_token"
LECTURER_KEY, LECTURER_TOKEN_KEY = "lecturer", "lecturer_token"


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file at all: a laptop
        return {}


def identity_settings():
    """The server's identity set-up from Streamlit secrets (nets.server.identity.settings_from_secrets)."""
    from nets.server.identity import settings_from_secrets
    return settings_from_secrets(_secrets())


def config_problems() -> list[str]:
    """What leaves this server open or unmanageable (nets.server.identity.problems), each logged
    once per process; app.py shows them on every page."""
    from nets.server.identity import report_problems
    return report_problems(identity_settings())


@st.cache_resource(show_spinner=False)
def _accounts(root: str):
    from nets.server.accounts import Accounts
    return Accounts(root)


def accounts():
    """Passphrases, session tokens and the throttle on wrong tries (nets.server.accounts), one per
    checkpoints folder and server process."""
    return _accounts(str(checkpoints_root()))


def browser() -> str:
    """This browser's fingerprint (nets.server.accounts.browser_key): a token works only where it was issued."""
    from nets.server.accounts import browser_key
    try:
        return browser_key(st.context.cookies)
    except Exception:  # no script context (a callback in a bare test)
        return ""


def identity() -> str:
    """This session's identity: "lecturer" in lecturer mode, else the student's ('' until a student
    on a classroom server signs in). Checked on every run (a revoked or expired token signs the tab
    out) and kept in the URL, because st.navigation drops query parameters on a page switch and a
    refresh keeps only the URL."""
    from nets.server.identity import LECTURER, URL_PARAMS, Session, resolve, url_params
    settings, state = identity_settings(), st.session_state
    try:
        user = st.user.to_dict()
    except Exception:  # no script context (a callback in a bare test)
        user = {}
    held = Session(state.get(IDENTITY_KEY, ""), state.get(TOKEN_KEY, ""), bool(state.get(LECTURER_KEY)),
                   state.get(LECTURER_TOKEN_KEY, ""))
    now = resolve(settings, held, st.query_params.to_dict(), user, accounts() if settings.shared else None,
                  browser())
    state[IDENTITY_KEY], state[TOKEN_KEY] = now.identity, now.token
    state[LECTURER_KEY], state[LECTURER_TOKEN_KEY] = now.lecturer, now.lecturer_token
    keep_in_url(url_params(now, settings), URL_PARAMS)  # only what this mode keeps
    return LECTURER if now.lecturer else now.identity


def keep_in_url(wanted: dict[str, str], managed) -> None:
    """Make the URL hold `wanted` among the `managed` query parameters (the others are left alone),
    writing only what differs: st.navigation drops query parameters on a page switch and a browser
    refresh keeps only the URL, so a page re-sets what it must find again."""
    for key in managed:
        if key in wanted and st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]


def sign_in(name: str, code: str, passphrase: str = "") -> str:
    """Sign this session in as the student `name` (the first time with a name, `passphrase` becomes
    its passphrase); returns why not, '' when it worked."""
    from nets.server.identity import IdentityError
    try:
        who, token = accounts().sign_in(name, code, passphrase, identity_settings(), browser())
    except IdentityError as e:
        return str(e)
    st.session_state[IDENTITY_KEY], st.session_state[TOKEN_KEY] = who, token
    identity()  # the URL keeps the token from now on
    return ""


def sign_out() -> None:
    """End this student's session: its token is revoked, so the old URL signs nobody in."""
    from nets.server.identity import NAME_PARAM, TOKEN_PARAM
    accounts().revoke(st.session_state.get(TOKEN_KEY, ""))
    st.session_state[IDENTITY_KEY], st.session_state[TOKEN_KEY] = "", ""
    for key in {NAME_PARAM, TOKEN_PARAM} & set(st.query_params):
        del st.query_params[key]


def enter_lecturer_mode(password: str) -> str:
    """Lecturer mode for the right lecturer_password, kept across a refresh by its own token;
    returns why not ('' when it worked). Wrong tries are slowed and logged."""
    from nets.server.identity import IdentityError
    try:
        token = accounts().lecturer_sign_in(password, identity_settings(), browser())
    except IdentityError as e:
        return str(e)
    st.session_state[LECTURER_KEY], st.session_state[LECTURER_TOKEN_KEY] = True, token
    identity()
    return ""


def leave_lecturer_mode() -> None:
    from nets.server.identity import LECTURER_PARAM
    accounts().revoke(st.session_state.get(LECTURER_TOKEN_KEY, ""))
    st.session_state[LECTURER_KEY], st.session_state[LECTURER_TOKEN_KEY] = False, ""
    if LECTURER_PARAM in st.query_params:
        del st.query_params[LECTURER_PARAM]


def session_owner() -> str:
    """The identity that owns the jobs this session starts. A student who has not signed in is
    told to, and the page stops: a job must never belong to nobody."""
    owner = identity()
    if not owner:
        st.error(signed_out_message())
        st.stop()
    return owner


def signed_out_message() -> str:
    return ("**Log in to train**: your runs and jobs are kept under your account."
            if identity_settings().mode == "login" else
            "**Sign in with your name to train**: your runs and jobs are kept under it, in any tab.")


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def dataset(name: str, data: str, folder: str = "", image_size: int = 32) -> ImageData:
    """A whole dataset (train and test) as tensors, shared by every session. Never modify it."""
    return load_dataset(name, data, download=True, folder=folder or None, image_size=image_size)


def run_dataset(run: Run) -> ImageData:
    cfg = run.config
    return dataset(cfg.dataset, str(data_dir()), cfg.folder, cfg.image_size)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _model(root: str, run_id: str, weights_file: str) -> torch.nn.Module:
    return load_model(get_run(root, run_id))


def run_model(run: Run) -> torch.nn.Module:
    """The run's best model, cached until its weights change (they get a new file name). Shared:
    never train it."""
    return _model(str(run.path.parent), run.id, run.weights_file)


# The Train page's form lives in a plain session key (widget keys vanish when the user leaves a page).
TRAIN_CFG_KEY, TRAIN_WIDGET_PREFIX = "train_cfg", "tw_"
# Whether the Train page's form is open, and the doctor's last fix to announce above it.
TRAIN_EDIT_KEY, TRAIN_FIXED_KEY = "train_editing", "train_doctor_fixed"


def load_train_config(cfg: TrainConfig, four_configs: bool = False) -> None:
    """Fill the Train page's form with `cfg` on its next run (a preset, a doctor's follow-up)."""
    st.session_state[TRAIN_CFG_KEY] = cfg.to_dict()
    for key in [k for k in st.session_state if str(k).startswith(TRAIN_WIDGET_PREFIX)]:
        del st.session_state[key]
    st.session_state[TRAIN_WIDGET_PREFIX + "four"] = four_configs
    st.session_state[TRAIN_EDIT_KEY] = True  # the form opens, showing what was filled in


@st.cache_resource(show_spinner="Evaluating on the test set…", max_entries=16)
def _evaluation(root: str, run_id: str, weights_file: str):
    from nets.runs.compare import evaluate_run
    run = get_run(root, run_id)
    return stored_evaluation(run, lambda: evaluate_run(run, run_model(run), run_dataset(run)))


def run_evaluation(run: Run):
    """The run's evaluation on its test set: stored with the run when it was trained (or the first
    time anyone looked), so a page only reads it (nets.runs.evals)."""
    return _evaluation(str(run.path.parent), run.id, run.weights_file)


def lecturer_password() -> str:
    """The lecturer's password from Streamlit secrets (.streamlit/secrets.toml); '' when none."""
    return identity_settings().password


def access():
    """What this session may do with runs (see nets.runs.access): single-user only on a laptop
    (none of [auth], class_code, lecturer_password in the secrets)."""
    from nets.runs.access import Access
    owner = identity()  # first: it settles lecturer mode for this run
    return Access(owner, bool(st.session_state.get(LECTURER_KEY)), not identity_settings().shared)


def shows_paths() -> bool:
    """Whether this session sees the server's own folders (the runs and data folders): the lecturer's
    and a laptop user's to know, not a student's on a shared server."""
    return access().everything


def find_runs(flt: RunFilter = RunFilter(), limit: int = PAGE_SIZE, offset: int = 0,
              order: str = "newest", count: bool = True) -> tuple[list[RunRow], int | None]:
    """One page of the saved runs this session may see (nets.runs.access, applied in the index's query)
    that match `flt`, and how many match in all (None with count=False). Reads the index, never
    every run folder."""
    idx, who = index(checkpoints_root()), access()
    return idx.query(flt, who, limit, offset, order), (idx.count(flt, who) if count else None)


PICKER_LIMIT = 50  # the newest matches a picker lists; typing narrows the rest


def run_label(row: RunRow) -> str:
    return f"{row.name} · {row.model} on {row.dataset}"


def _usable(run_id: str, flt: RunFilter) -> RunRow | None:
    """The run's index row if this session may see it and it passes the filter (whatever its age)."""
    if not run_id:
        return None
    rows, _ = find_runs(replace(flt, text="", id=run_id), limit=1, count=False)
    return rows[0] if rows else None


def run_picker_ui(label: str, key: str, flt: RunFilter, default: str = "", empty: str = "") -> Run:
    """One saved run, found by typing part of its name: the newest matching runs this session may
    see in a select box, the choice kept across pages in `selected_run` (else the page's own last
    choice, else `default`). Stops the page with `empty` when there is none."""
    pick, search = st.columns([2, 1], vertical_alignment="bottom")
    text = search.text_input("Search runs", key=f"{key}_search", placeholder="part of a name or id",
                             max_chars=100,  # a huge pattern is refused by SQLite's LIKE
                             help="The list holds the newest matching runs; type to find older ones.")
    rows, total = find_runs(replace(flt, text=text), limit=PICKER_LIMIT)
    by_id = {r.id: r for r in rows}
    # The remembered run stays listed even when it is older than the newest matches.
    remembered = [i for i in (st.session_state.get("selected_run"), st.session_state.get(key), default) if i]
    current = next((row for i in remembered if (row := by_id.get(i) or _usable(i, flt)) is not None), None)
    if text and rows and (current is None or current.id not in by_id):
        current = rows[0]  # a search picks its newest match
    elif current is not None and current.id not in by_id:
        by_id = {current.id: current, **by_id}
    if not by_id:
        st.info(empty or "No saved run yet: train one on the Train page.")
        st.stop()
    ids = list(by_id)
    wanted = current.id if current is not None else ids[0]
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    with pick:  # a choice made here becomes the remembered one before the next run of the page
        run_id = st.selectbox(label, ids, key=key, format_func=lambda i: run_label(by_id[i]),
                              on_change=lambda: st.session_state.update(selected_run=st.session_state[key]))
    if text and not rows:
        st.caption(f"No run matches '{text}'; the list keeps the current one.")
    elif total > len(rows):
        st.caption(f"The {len(rows)} newest of {total:,} matching runs; type in the search box to find others.")
    st.session_state["selected_run"] = run_id
    try:
        run = get_run(checkpoints_root(), run_id)
    except CheckpointError as e:
        st.error(str(e))
        st.stop()
    if not access().can_view(run.info):  # checked on the record itself, not only in the list
        st.error("This run is not yours and has not been shared with the class.")
        st.stop()
    return run


@st.cache_data(max_entries=16, show_spinner=False)
def decode_image(data: bytes, filename: str):
    """Image bytes read safely (nets.inspect.imageio), cached by the bytes themselves."""
    from nets.inspect.imageio import MAX_BYTES, read_image
    return read_image(data, MAX_BYTES, filename=filename)


def upload_image_ui():
    """An uploaded image, decoded, and its file name; stops the page with a plain message when
    there is none or it is not a usable image."""
    from nets.inspect.imageio import MAX_BYTES, SUFFIXES, ImageError, check_size
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


@st.cache_resource(show_spinner=False)
def server_log():
    """The server's log set up once per process (nets.server.log); its latest problems for the
    lecturer's Server page."""
    from nets.server.log import setup
    return setup()
