"""Train: choose a configuration, start a background job, watch it live, stop it, follow the doctor;
share the configuration as a lesson link, or open one."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from nets.engine.augment import AUGMENTATIONS, mirror_safe
from nets.engine.config import (
    LOSSES,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
    ConfigError,
    TrainConfig,
    four_configs,
    validate,
)
from nets.engine.data import DATASETS, SHAPES, download_notice, menu_label
from nets.engine.naming import LOSS_NAMES, default_name
from nets.server.lessons import decode, encode, is_lesson, lesson_params, signature
from nets.engine.models import (
    ACTIVATIONS,
    MODELS,
    ModelError,
    build_model,
    count_params,
    model_options,
)
from nets.server.upload import (
    UploadError,
    image_folders,
    resolve_inside,
    safe_extract_zip,
    uploads_dir,
)
from pages._common import (
    TRAIN_CFG_KEY,
    TRAIN_EDIT_KEY,
    TRAIN_FIXED_KEY,
    TRAIN_WIDGET_PREFIX,
    checkpoints_root,
    data_dir,
    ensure_app_entry,
    identity,
    job_manager,
    load_train_config,
    session_owner,
)
from pages._train_live import JOB_KEY, attach, jobs_list_ui, live_ui

FOUR_FIELDS = frozenset({"optimizer", "lr", "momentum", "loss"})  # what the four configurations set

ensure_app_entry()

CFG_KEY, WIDGET_PREFIX, EDIT_KEY, FIXED_KEY = TRAIN_CFG_KEY, TRAIN_WIDGET_PREFIX, TRAIN_EDIT_KEY, TRAIN_FIXED_KEY
LESSON = Path(__file__).resolve().parent.parent / "assets" / "train.md"
LESSON_KEY, SHARE_HIDE_KEY, UPLOAD_KEY, UPLOADED_KEY = "train_lesson", "share_hide", "train_zip", "train_zip_done"
PINNED: frozenset[str] = frozenset()  # controls a lesson link locks; set once per run before the form
LABELS: dict[str, str] = {}           # field -> label of the controls this run showed, for the share box


# ------------------------------------------------------------------------------ state helpers
def current_config() -> TrainConfig:
    """The form's configuration lives in a plain session key: widget keys vanish when the user
    leaves the page, this one does not."""
    if CFG_KEY not in st.session_state:
        st.session_state[CFG_KEY] = PRESETS["mnist-minute"].to_dict()
    return TrainConfig.from_dict(st.session_state[CFG_KEY])


def widget(kind, label: str, field: str, value, **kwargs):
    """A form widget seeded from the stored config; its key is re-seeded whenever it was dropped.
    A control pinned by a lesson link is drawn locked, showing the lesson's value."""
    LABELS[field] = label
    key = WIDGET_PREFIX + field
    if field in PINNED:
        st.session_state[key] = value  # the lesson's value, whatever was typed or fixed since
        kwargs.update(disabled=True, help="Fixed by your lecturer for this lesson.")
    elif key not in st.session_state:
        st.session_state[key] = value
    return kind(label, key=key, **kwargs)


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise ConfigError(f"{what} must be whole numbers separated by commas, like 256,128,64.") from None


# ------------------------------------------------------------------------------ the form
def config_ui(cfg: TrainConfig) -> tuple[TrainConfig, str | None]:
    """Widgets for every setting; returns (config, the problem if any)."""
    data_col, model_col, opt_col = st.columns(3)
    with data_col:
        st.subheader("Data")
        dataset = widget(st.selectbox, "Dataset", "dataset", cfg.dataset, options=DATASETS,
                         format_func=lambda d: menu_label(d, data_dir()))
        folder, image_size = cfg.folder, cfg.image_size
        if dataset == "folder":
            folder = folder_ui(cfg.folder)
            image_size = widget(st.number_input, "Resize to (pixels)", "image_size", cfg.image_size,
                                min_value=8, max_value=512, step=4)
        val_fraction = widget(st.slider, "Validation fraction (picks the best model)", "val_fraction",
                              cfg.val_fraction, min_value=0.0, max_value=0.5, step=0.05)
        if not val_fraction:
            st.caption("0: the best epoch is picked on the test set, so its test accuracy flatters it a little. "
                       "Hold out 0.1 to pick it fairly.")
        per_class = widget(st.number_input, "Training images per class (0 = all)", "train_per_class",
                           cfg.train_per_class, min_value=0, step=50)
        augment = widget(st.multiselect, "Augmentation", "augment", list(cfg.augment), options=list(AUGMENTATIONS))
        if not mirror_safe(dataset) and "flip" in augment:
            st.warning("A mirrored digit is not a digit (a flipped 2 is no 2): horizontal flips suit photos "
                       "and clothes, not handwriting.")
        seed = widget(st.number_input, "Seed", "seed", cfg.seed, min_value=0, step=1)
        backbone = widget(st.selectbox, "Train on frozen features of", "backbone", cfg.backbone,
                          options=["", "resnet18", "resnet34"],
                          format_func=lambda b: f"{b} (ImageNet)" if b else "nothing: train on the pixels")
    with model_col:
        st.subheader("Model")
        model = widget(st.selectbox, "Architecture", "model", cfg.model, options=list(MODELS))
        opts = model_options(model)
        extra: dict = {}
        problem = None
        try:
            if "hidden" in opts:
                extra["hidden"] = parse_ints(widget(st.text_input, "Hidden sizes", "hidden",
                                                    ",".join(map(str, cfg.hidden or (128,)))), "Hidden sizes")
            if "channels" in opts:
                default = cfg.channels or ((32, 64) if model in ("cnn5", "gated-cnn") else ())
                extra["channels"] = parse_ints(widget(st.text_input, "Convolution channels", "channels",
                                                      ",".join(map(str, default))), "Channels")
            if "fc" in opts:
                extra["fc"] = parse_ints(widget(st.text_input, "Fully connected sizes", "fc",
                                                ",".join(map(str, cfg.fc or (256, 128)))), "Fully connected sizes")
        except ConfigError as e:
            problem = str(e)
        if "activation" in opts:
            extra["activation"] = widget(st.selectbox, "Activation", "activation", cfg.activation or "relu",
                                         options=list(ACTIVATIONS))
        if "dropout" in opts:
            default = cfg.dropout if cfg.dropout is not None else (0.5 if model == "lenet" else 0.0)
            extra["dropout"] = widget(st.slider, "Dropout", "dropout", float(default), min_value=0.0,
                                      max_value=0.9, step=0.05)
        if "batch_norm" in opts:
            extra["batch_norm"] = widget(st.checkbox, "Batch norm", "batch_norm", cfg.batch_norm)
        if "small_stem" in opts:
            stem = widget(st.selectbox, "Stem", "small_stem", {None: "auto", True: "small (3×3)",
                                                                False: "ImageNet (7×7 + max-pool)"}[cfg.small_stem],
                          options=["auto", "small (3×3)", "ImageNet (7×7 + max-pool)"])
            extra["small_stem"] = {"auto": None, "small (3×3)": True}.get(stem, False)
        if "pretrained" in opts:
            extra["pretrained"] = widget(st.checkbox, "Start from ImageNet weights", "pretrained", cfg.pretrained)
            blocks = widget(st.number_input, "Train only the last k residual blocks (−1 = all)", "train_blocks",
                            cfg.train_blocks, min_value=-1, max_value=16)
            extra["train_blocks"] = int(blocks)
            extra["input_size"] = int(widget(st.number_input, "Resize images inside the model to (0 = no)",
                                             "input_size", cfg.input_size, min_value=0, max_value=512, step=16))
            extra["block_dropout"] = widget(st.slider, "Dropout after each residual block", "block_dropout",
                                            float(cfg.block_dropout), min_value=0.0, max_value=0.9, step=0.05)
    with opt_col:
        st.subheader("Optimisation")
        optimizer = widget(st.selectbox, "Optimizer", "optimizer", cfg.optimizer, options=OPTIMIZERS)
        lr = widget(st.number_input, "Learning rate", "lr", float(cfg.lr), min_value=0.0, format="%g", step=0.001)
        momentum, nesterov = cfg.momentum, False
        if optimizer in ("sgd", "rmsprop"):
            momentum = widget(st.slider, "Momentum", "momentum", float(cfg.momentum), min_value=0.0,
                              max_value=0.99, step=0.01)
        if optimizer == "sgd":
            nesterov = widget(st.checkbox, "Nesterov", "nesterov", cfg.nesterov)
        weight_decay = widget(st.number_input, "Weight decay", "weight_decay", float(cfg.weight_decay),
                              min_value=0.0, format="%g", step=0.0001)
        loss = widget(st.radio, "Loss", "loss", cfg.loss, options=LOSSES, horizontal=True,
                      format_func=LOSS_NAMES.get)
        epochs = widget(st.number_input, "Epochs", "epochs", cfg.epochs, min_value=1, max_value=1000)
        batch_size = widget(st.number_input, "Batch size", "batch_size", cfg.batch_size, min_value=1,
                            max_value=65536)
        schedule = widget(st.selectbox, "Learning-rate schedule", "schedule", cfg.schedule, options=SCHEDULES)
        patience = widget(st.number_input, "Early stopping patience (0 = off)", "patience", cfg.patience,
                          min_value=0, max_value=100)
        converge = widget(st.number_input, "Stop when the training loss stalls for … epochs (0 = off)",
                          "converge_patience", cfg.converge_patience, min_value=0, max_value=100)
        converge_delta = cfg.converge_delta
        if converge:
            converge_delta = widget(st.number_input, "…by less than", "converge_delta", float(cfg.converge_delta),
                                    min_value=0.0, format="%g", step=0.0005)
        clip = widget(st.number_input, "Gradient clipping (0 = off)", "clip_grad", float(cfg.clip_grad),
                      min_value=0.0, format="%g", step=0.1)
    # Start from the stored config: fields the form does not show (a preset's) are kept, not reset.
    dropped = {k: None for k in ("hidden", "channels", "fc", "activation", "dropout", "batch_norm",
                                 "small_stem", "pretrained", "train_blocks", "input_size", "block_dropout")
               if k not in extra}
    base = replace(cfg, **{k: TrainConfig.__dataclass_fields__[k].default for k in dropped})
    new = replace(base, dataset=dataset, folder=folder, image_size=int(image_size), backbone=backbone,
                  converge_patience=int(converge), converge_delta=float(converge_delta),
                  val_fraction=float(val_fraction), train_per_class=int(per_class), augment=tuple(augment),
                  seed=int(seed), model=model, optimizer=optimizer, lr=float(lr), momentum=float(momentum),
                  nesterov=bool(nesterov), weight_decay=float(weight_decay), loss=loss, epochs=int(epochs),
                  batch_size=int(batch_size), schedule=schedule, patience=int(patience), clip_grad=float(clip),
                  **extra)
    if problem is None:
        try:
            validate(new)
            if new.dataset == "folder":  # also a folder from a lesson link or an older config
                resolve_inside(data_dir(), new.folder)
        except (ConfigError, UploadError) as e:
            problem = str(e)
    st.session_state[CFG_KEY] = new.to_dict()
    return new, problem


def folder_ui(current: str) -> str:
    """The user's images come as a zip or as a folder already inside the data root, never as a typed
    path: a path could name any folder on the server."""
    root = data_dir()
    if "folder" in PINNED:
        st.caption(f"Images: `{current}` (fixed by your lecturer)")
        return current
    upload = st.file_uploader("Your images as a .zip: one folder per class", type=["zip"], key=UPLOAD_KEY)
    done = st.session_state.get(UPLOADED_KEY, {})
    if upload is not None and done.get("id") != upload.file_id:  # unpack once, not on every rerun
        try:
            with st.spinner("Unpacking and checking the zip…"):
                out = safe_extract_zip(upload.getvalue(), uploads_dir(root), upload.name)
        except (UploadError, OSError) as e:
            done = {"id": upload.file_id, "error": str(e)}
        else:
            done = {"id": upload.file_id, "note": out.summary()}
            current = st.session_state[WIDGET_PREFIX + "folder"] = str(out.folder)
        st.session_state[UPLOADED_KEY] = done
    if upload is not None and "error" in done:
        st.error(done["error"])
    elif upload is not None:
        st.caption(done["note"])
    options = [str(p) for p in image_folders(root)]
    if current and current not in options:
        st.warning(f"The folder `{current}` is not an image folder inside the data folder; choose one here.")
    if st.session_state.get(WIDGET_PREFIX + "folder") not in options:
        st.session_state.pop(WIDGET_PREFIX + "folder", None)
    base = root.resolve()
    chosen = widget(st.selectbox, "…or a folder inside the data folder", "folder",
                    current if current in options else (options[0] if options else None), options=options,
                    format_func=lambda p: str(Path(p).relative_to(base)),
                    placeholder="none yet: upload a zip")
    return chosen or ""


@st.cache_data(show_spinner=False, max_entries=64)
def parameter_count(model: str, shape: tuple, num_classes: int, options: tuple) -> tuple[int, int]:
    net = build_model(model, shape, num_classes, **dict(options))
    return count_params(net), count_params(net, trainable_only=True)


def params_ui(cfg: TrainConfig) -> tuple[str, str | None]:
    """(the one-line description of what trains, with its parameter count; the problem if any)."""
    shape = (512, 1, 1) if cfg.backbone else SHAPES.get(cfg.dataset, (3, cfg.image_size, cfg.image_size))
    # ImageNet weights do not change the count: leave them out rather than load them on every change
    options = {k: v for k, v in cfg.model_kwargs().items() if k != "pretrained"}
    try:
        total, trainable = parameter_count(cfg.model, shape, 10, tuple(sorted(options.items())))
    except ModelError as e:
        return "", str(e)
    classes = "10 classes" if cfg.dataset != "folder" else "per class folder"
    source = f"frozen {cfg.backbone} features of {cfg.dataset}" if cfg.backbone else cfg.dataset
    count = f"**{total:,} parameters**" + (f" ({trainable:,} trainable)" if trainable != total else "")
    loss = LOSS_NAMES.get(cfg.loss, cfg.loss)
    return (f"**{cfg.model}** on {source} ({'×'.join(map(str, shape))}, {classes}): {count} · "
            f"{cfg.optimizer} lr {cfg.lr:g} · {loss} · {cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} "
            f"of batch {cfg.batch_size}"), None


# ------------------------------------------------------------------------------ lesson links
def lesson_ui() -> frozenset[str]:
    """A lesson link (?lesson=1&lr=…&hide=…) fills the form once per session, so the student's own
    edits are not overwritten on every rerun; the controls it names stay locked for the session."""
    params = st.query_params.to_dict()
    if is_lesson(params) and st.session_state.get(LESSON_KEY, {}).get("sig") != signature(params):
        lesson = decode(params)
        load_train_config(lesson.cfg, lesson.four)
        st.session_state[LESSON_KEY] = {"sig": signature(params), "params": lesson_params(params),
                                        "pinned": sorted(lesson.hidden), "cfg": lesson.cfg.to_dict(),
                                        "four": lesson.four, "problems": lesson.problems}
    state = st.session_state.get(LESSON_KEY)
    if not state:
        return frozenset()
    for key, value in state["params"].items():  # st.navigation drops them on a page switch: a refresh needs them
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    pinned = state["pinned"]
    if pinned:
        st.info(f"Lesson: your lecturer fixed {len(pinned)} setting{'s' if len(pinned) != 1 else ''} (shown "
                "greyed out with their values); change the others as you like.")
    if state["problems"]:
        st.warning("This link had problems; defaults were used for: " + "; ".join(state["problems"]) + ".")
    return frozenset(pinned)


def pin(cfg: TrainConfig) -> TrainConfig:
    """The lesson's values for the locked fields, whatever else changed them (a doctor's fix)."""
    state = st.session_state.get(LESSON_KEY)
    if not state or not PINNED:
        return cfg
    lesson = TrainConfig.from_dict(state["cfg"])
    return replace(cfg, **{f: getattr(lesson, f) for f in PINNED if f in TrainConfig.__dataclass_fields__})


def four_ui() -> bool:
    """The coursework's four configurations set the optimizer, learning rate and loss themselves: a
    lesson that locks any of those (or the switch) keeps the switch as the lesson says."""
    state = st.session_state.get(LESSON_KEY) or {}
    key = WIDGET_PREFIX + "four"
    locked = "four" in PINNED or bool(PINNED & FOUR_FIELDS)
    if locked:
        st.session_state[key] = bool(state.get("four")) and "four" in PINNED
    return st.toggle("Four configurations", key=key, disabled=locked,
                     help="The coursework's four configurations: train this network four times, SGD lr 0.001 and Adam "
                          "lr 0.01, each with cross-entropy and with squared error, then compare them side by side."
                          + (" Fixed by your lecturer for this lesson." if locked else ""))


def share_ui(cfg: TrainConfig, problem: str | None) -> None:
    with st.expander("Share as lesson link"):
        if problem:
            st.caption("Fix the settings above first: a lesson link pins a configuration that trains.")
            return
        four = bool(st.session_state.get(WIDGET_PREFIX + "four"))
        chosen = st.session_state.get(SHARE_HIDE_KEY, [])
        LABELS.setdefault("four", "Four configurations")
        st.multiselect("Controls to lock for students", [*LABELS, *(f for f in chosen if f not in LABELS)],
                       key=SHARE_HIDE_KEY, format_func=lambda f: f"{LABELS.get(f, f)} ({f})")
        st.code(encode(cfg, set(st.session_state[SHARE_HIDE_KEY]), st.context.url, four=four), language=None)
        st.caption("Students who open this link get this page with these settings; the locked controls show "
                   "their values greyed out, the others they can change. A link pins settings, not data: a "
                   "folder dataset must be on this server.")


# ------------------------------------------------------------------------------ the page
def editing() -> bool:
    """The form is open unless a job is on show and the user has not asked to edit."""
    return st.session_state.get(EDIT_KEY, True) or not st.session_state.get(JOB_KEY)


def train_bar_ui(cfg: TrainConfig, problem: str | None, summary: str) -> bool:
    """The top bar a lecturer presses: run name, Train, the four-configuration switch, and what will
    train in one line. Returns whether this run should train as the four configurations."""
    name_col, train_col, four_col, edit_col = st.columns([3.4, 1.2, 2.8, 1.4], vertical_alignment="bottom")
    with name_col:
        widget(st.text_input, "Run name", "name", cfg.name, max_chars=80, label_visibility="collapsed",
               placeholder=f"Run name (automatic: {default_name(cfg)})")
    with four_col:
        four = four_ui()
    signed_in = bool(identity())
    # A key, so the button keeps its identity when its help text (the summary) changes: on a busy
    # server a click can land on the button drawn for the previous settings, and must still count.
    why = (summary.replace("**", "") if signed_in else
           "Sign in with your name in the sidebar first: your runs are kept under it.")
    pressed = train_col.button("Train", key="train_go", type="primary", width="stretch",
                               disabled=problem is not None or not signed_in, help=why)
    if not editing():
        edit_col.button("Edit settings", width="stretch",
                        on_click=lambda: st.session_state.update({EDIT_KEY: True}))
    elif st.session_state.get(JOB_KEY):
        edit_col.button("Hide settings", width="stretch",
                        on_click=lambda: st.session_state.update({EDIT_KEY: False}))
    if summary and editing():  # with the form folded, the live panel's own title says what trains
        st.markdown(summary + (" · as **four runs**" if four else ""))
    if (notice := download_notice(cfg.dataset, data_dir())):
        st.caption(f"⬇️ {notice} Offline, choose a bundled dataset (mnist-mini, fashion-mnist-mini).")
    if pressed:
        submit(cfg, four)
    return four


def submit(cfg: TrainConfig, four: bool) -> None:
    manager = job_manager()
    try:
        if four:
            jobs = manager.submit_group(four_configs(cfg), owner=session_owner())
            attach(jobs[0].id, jobs[0].group)
        else:
            attach(manager.submit(cfg, owner=session_owner()).id)
    except (ConfigError, ModelError) as e:
        st.error(str(e))
    else:
        st.session_state[EDIT_KEY] = False  # the live panel takes the screen; Edit brings the form back
        st.session_state.pop(FIXED_KEY, None)
        st.rerun()


st.title("🏋️ Train")
# Less empty space above the title: at 1366×768 the bar, the live panel and its charts fit one screen.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem}</style>")
PINNED = lesson_ui()
if JOB_KEY not in st.session_state and st.query_params.get("job"):
    attach(st.query_params["job"])  # a refreshed tab picks its job up again
elif (shown := st.session_state.get(JOB_KEY)) and st.query_params.get("job") != shown:
    st.query_params["job"] = shown  # st.navigation dropped it on a page switch: a refresh needs it

bar, live, form = st.container(), st.container(), st.container()
with form:
    if editing():
        if (fixed := st.session_state.get(FIXED_KEY)):
            st.success(fixed)
        st.markdown(LESSON.read_text())
        cfg, problem = config_ui(pin(current_config()))
    else:
        cfg, problem = pin(current_config()), None
        try:
            validate(cfg)
        except ConfigError as e:
            problem = str(e)
if WIDGET_PREFIX + "name" in st.session_state:  # the name box sits in the bar, drawn after the form
    cfg = replace(cfg, name=str(st.session_state[WIDGET_PREFIX + "name"]).strip())
cfg = pin(cfg)
st.session_state[CFG_KEY] = cfg.to_dict()
summary, count_problem = params_ui(cfg)
problem = problem or count_problem
with bar:
    if problem:
        st.error(problem)
    train_bar_ui(cfg, problem, summary)
with live:
    live_ui(PINNED)
jobs_list_ui()
if LESSON_KEY not in st.session_state:
    share_ui(cfg, problem)
st.caption(f"Runs are saved in `{checkpoints_root()}`.")
