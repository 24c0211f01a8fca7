"""The Train page's settings form (not a page): a widget per setting, the TrainConfig they make, what it trains."""
# Each model option is drawn from its row in nets.engine.options, each numeric setting within its range
# there (SETTINGS). A `Form` carries what the widgets need: the controls a lesson link locks, and (as
# they are drawn) their labels for the share box.
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import streamlit as st

from nets.engine.augment import AUGMENTATIONS, mirror_safe
from nets.engine.catalog import DATASETS, FOLDER, SHAPES, class_names, menu_label
from nets.engine.datamod import describe, parse
from nets.engine.config import (DEFAULTS, INITS, LOSSES, OPTIMIZERS, PRESETS, SCHEDULES, ConfigError, TrainConfig,
                                four_configs_summary, validate)
from nets.engine.models import MODELS, ModelError, model_defaults, parameter_counts
from nets.engine.naming import LOSS_NAMES
from nets.engine.options import OPTIONS, SETTINGS
from nets.parse import ParseError
from nets.server.identity import LECTURER
from nets.server.upload import (UploadError, all_uploads, clean_uploads, delete_upload, folder_label, folder_refusal,
                                image_folders, my_uploads, save_upload, share_upload, usage)
from nets.text import plain
from pages._identity import identity
from pages._lrfind import lrfind_button
from pages._service import data_dir
from pages._train_state import BUILDER_KEY, TRAIN_CFG_KEY as CFG_KEY, TRAIN_WIDGET_PREFIX as WIDGET_PREFIX

UPLOAD_KEY, UPLOADED_KEY = "train_zip", "train_zip_done"
INIT_NAMES = {"": "PyTorch's default", "kaiming": "Kaiming (He): for ReLU", "xavier": "Xavier (Glorot): for sigmoid/tanh",
              "dirac": "Dirac: convolutions start as identities (speed runs)"}


def current_config() -> TrainConfig:
    """The form's configuration lives in a plain session key: widget keys vanish when the user
    leaves the page, this one does not."""
    if CFG_KEY not in st.session_state:
        st.session_state[CFG_KEY] = PRESETS["mnist-minute"].to_dict()
    return TrainConfig.from_dict(st.session_state[CFG_KEY])


@dataclass
class Form:
    """What the form's widgets need: the controls a lesson link locks, and (filled in as they are
    drawn) each control's label, for the share box's list of controls to lock."""
    pinned: frozenset[str] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)
    four: bool = False  # the four configurations set the optimizer, learning rate, momentum and loss

    def widget(self, kind, label: str, name: str, value, **kwargs):
        """A widget for the setting `name`, seeded from the stored config; its key is re-seeded whenever
        it was dropped. A control pinned by a lesson link is drawn locked, showing the lesson's value."""
        self.labels[name] = label
        key = WIDGET_PREFIX + name
        if name in self.pinned:
            st.session_state[key] = value  # the lesson's value, whatever was typed or fixed since
            kwargs.update(disabled=True, help="Fixed by your lecturer for this lesson.")
        elif key not in st.session_state:
            st.session_state[key] = value
        return kind(label, key=key, **kwargs)

    def setting(self, kind, label: str, name: str, value, **kwargs):
        """A widget for a numeric training setting, within its range in nets.engine.options.SETTINGS
        (the range validate() checks)."""
        # A typed number is not bounded by the box (it would quietly keep another value: epochs 0 trained
        # 5, a learning rate of -1 read 0.0): validate() refuses it with the setting's range, in words.
        return self.widget(kind, label, name, value, **SETTINGS[name].widget(bounded=kind is not st.number_input),
                           **kwargs)

    def option(self, name: str, value):
        """A model option (or the backbone) as its row in nets.engine.options draws it; returns the
        config's value, or raises ParseError for sizes that cannot be read."""
        option = OPTIONS[name]
        kind, kwargs = option.widget()
        return option.read(self.widget(getattr(st, kind), option.label, name, option.shown(value), **kwargs))


# ------------------------------------------------------------------------------ the form
def config_ui(form: Form, cfg: TrainConfig) -> tuple[TrainConfig, str | None]:
    """Widgets for every setting; returns (config, the problem if any)."""
    data_col, model_col, opt_col = st.columns(3)
    with data_col:
        data = data_ui(form, cfg)
    with model_col:
        model, options, problem = model_ui(form, cfg)
    with opt_col:
        optimisation = optimisation_ui(form, cfg)
    # Start from the stored config: fields the form does not show (a preset's) are kept, and the
    # options the chosen model does not take go back to their defaults.
    unused = {name: DEFAULTS[name] for name, o in OPTIONS.items() if o.per_model and name not in options}
    new = replace(cfg, **unused, **data, model=model, **options, **optimisation)
    if problem is None:
        try:
            validate(new, data_root=data_dir())  # the folder rule: inside the data folder
            if new.dataset == FOLDER and (why := folder_refusal(data_dir(), new.folder, identity())):
                problem = why  # also a folder from a lesson link or an older config: someone else's upload
        except ConfigError as e:
            problem = str(e)
    st.session_state[CFG_KEY] = new.to_dict()
    return new, problem


def data_ui(form: Form, cfg: TrainConfig) -> dict:
    """The data settings: which images, how many, how they are augmented; a frozen backbone."""
    st.subheader("Data")
    dataset = form.widget(st.selectbox, "Dataset", "dataset", cfg.dataset, options=DATASETS,
                          format_func=lambda d: menu_label(d, data_dir()))
    folder, image_size = cfg.folder, cfg.image_size
    if dataset == FOLDER:
        folder = folder_ui(form, cfg.folder)
        image_size = form.setting(st.number_input, "Resize to (pixels)", "image_size", cfg.image_size)
    val_fraction = form.setting(st.slider, "Validation fraction (picks the best model)", "val_fraction",
                                float(cfg.val_fraction))
    if not val_fraction:
        st.caption("0: the best epoch is picked on the test set, so its test accuracy flatters it a little. "
                   "Hold out 0.1 to pick it fairly.")
    per_class = form.setting(st.number_input, "Training images per class (0 = all)", "train_per_class",
                             cfg.train_per_class)
    augment = form.widget(st.multiselect, "Augmentation", "augment", list(cfg.augment), options=list(AUGMENTATIONS))
    if not mirror_safe(dataset) and "flip" in augment:
        st.warning("A mirrored digit is not a digit (a flipped 2 is no 2): horizontal flips suit photos "
                   "and clothes, not handwriting.")
    seed = form.setting(st.number_input, "Seed", "seed", cfg.seed)
    return dict(dataset=dataset, folder=folder, image_size=int(image_size), val_fraction=float(val_fraction),
                train_per_class=int(per_class), augment=tuple(augment), seed=int(seed),
                backbone=form.option("backbone", cfg.backbone))


def model_ui(form: Form, cfg: TrainConfig) -> tuple[str, dict, str | None]:
    """The architecture and the options it takes, in the option table's order, each starting at the
    stored config's value or else the model's own default: (model, options, the problem if any)."""
    st.subheader("Model")
    model = form.widget(st.selectbox, "Architecture", "model", cfg.model, options=list(MODELS))
    defaults, options, problems = model_defaults(model), {}, []
    for name in (n for n in OPTIONS if n in defaults):
        try:
            options[name] = form.option(name, getattr(cfg, name) if cfg.is_set(name) else defaults[name])
        except ParseError as e:
            options[name] = getattr(cfg, name)  # the last readable value stays until this one reads
            problems.append(str(e))
    if model == "custom" and st.button("🧱 Edit in the builder", key="to_builder", help="shapes, counts and fixes, live"):
        st.session_state[BUILDER_KEY] = options.get("layers", ())
        if cfg.dataset in SHAPES:  # the builder counts on the same data (it keeps its own otherwise)
            st.session_state["builder_dataset_v"] = cfg.dataset
            st.session_state.pop("builder_dataset", None)
        st.switch_page("pages/build.py")
    options["init"] = form.widget(st.selectbox, "Initialisation", "init", cfg.init, options=list(INITS),
                                  format_func=INIT_NAMES.get)
    return model, options, "; ".join(problems) or None


def optimisation_ui(form: Form, cfg: TrainConfig) -> dict:
    """How the weights are fitted: optimizer, learning rate, loss, epochs and when to stop."""
    st.subheader("Optimisation")
    four = {"disabled": True} if form.four else {}  # the four runs set these themselves: shown, not editable
    if form.four:
        st.caption(f"**Four configurations** is on: the four runs use {four_configs_summary()} (SGD with "
                   "momentum 0.9), so the optimizer, learning rate, momentum and loss below are not used. "
                   "Turn it off to set them.")
    optimizer = form.widget(st.selectbox, "Optimizer", "optimizer", cfg.optimizer, options=OPTIMIZERS, **four)
    lr = form.setting(st.number_input, "Learning rate", "lr", float(cfg.lr), format="%g", **four)
    lrfind_button(disabled=form.four or "lr" in form.pinned)
    momentum, nesterov = cfg.momentum, False
    if optimizer in ("sgd", "rmsprop"):
        momentum = form.setting(st.slider, "Momentum", "momentum", float(cfg.momentum), **four)
    if optimizer == "sgd":
        nesterov = form.widget(st.checkbox, "Nesterov", "nesterov", cfg.nesterov)
    weight_decay = form.setting(st.number_input, "Weight decay", "weight_decay", float(cfg.weight_decay),
                                format="%g")
    loss = form.widget(st.radio, "Loss", "loss", cfg.loss, options=LOSSES, horizontal=True,
                       format_func=LOSS_NAMES.get, **four)
    epochs = form.setting(st.number_input, "Epochs", "epochs", cfg.epochs)
    batch_size = form.setting(st.number_input, "Batch size", "batch_size", cfg.batch_size)
    schedule = form.widget(st.selectbox, "Learning-rate schedule", "schedule", cfg.schedule, options=SCHEDULES)
    patience = form.setting(st.number_input, "Early stopping patience (0 = off)", "patience", cfg.patience)
    converge = form.setting(st.number_input, "Stop when the training loss stalls for … epochs (0 = off)",
                            "converge_patience", cfg.converge_patience)
    converge_delta = cfg.converge_delta
    if converge:
        converge_delta = form.setting(st.number_input, "…by less than", "converge_delta", float(cfg.converge_delta),
                                      format="%g")
    clip = form.setting(st.number_input, "Gradient clipping (0 = off)", "clip_grad", float(cfg.clip_grad),
                        format="%g")
    stats = form.setting(st.number_input, "Layer statistics every … steps (0 = off)", "stats_every", cfg.stats_every,
                         help="Gradient norms, update ratios, dead and saturated units per layer, for the doctor "
                              "and the Inside view; every 10 steps costs a few per cent of the time.")
    return dict(optimizer=optimizer, lr=float(lr), momentum=float(momentum), nesterov=bool(nesterov),
                weight_decay=float(weight_decay), loss=loss, epochs=int(epochs), batch_size=int(batch_size),
                schedule=schedule, patience=int(patience), converge_patience=int(converge),
                converge_delta=float(converge_delta), clip_grad=float(clip), stats_every=int(stats))


def folder_ui(form: Form, current: str) -> str:
    """The user's images come as a zip or as a folder already inside the data root, never as a typed
    path: a path could name any folder on the server. A student sees their own uploads, the shared
    ones and the lecturer's folders (nets.server.upload decides), with their quota."""
    root, owner = data_dir(), identity()
    if FOLDER in form.pinned:
        usable = current and folder_refusal(root, current, owner) is None
        st.caption(f"Images: {plain(folder_label(root, current, owner)) if usable else 'a folder you cannot use'} "
                   "(fixed by your lecturer)")
        return current
    if owner:
        upload = st.file_uploader("Your images as a .zip: one folder per class", type=["zip"], key=UPLOAD_KEY)
    else:
        upload = None
        st.caption("Sign in to upload your own images.")
    done = st.session_state.get(UPLOADED_KEY, {})
    if upload is not None and done.get("id") != upload.file_id:  # unpack once, not on every rerun
        try:
            with st.spinner("Unpacking and checking the zip…"):
                out = save_upload(upload.getvalue(), root, upload.name, owner)
        except (UploadError, OSError) as e:
            done = {"id": upload.file_id, "error": str(e) if isinstance(e, UploadError) else
                    "The zip could not be unpacked on the server."}
        else:
            done = {"id": upload.file_id, "note": out.summary()}
            current = st.session_state[WIDGET_PREFIX + "folder"] = str(out.folder)
        st.session_state[UPLOADED_KEY] = done
    if upload is not None and "error" in done:
        st.error(plain(done["error"]))
    elif upload is not None:
        st.caption(plain(done["note"]))
    options = [str(p) for p in image_folders(root, owner)]
    if current and current not in options:
        st.warning("The folder this form had is not one of the image folders you can use; choose one here.")
    if st.session_state.get(WIDGET_PREFIX + "folder") not in options:
        st.session_state.pop(WIDGET_PREFIX + "folder", None)
    chosen = form.widget(st.selectbox, "…or a folder inside the data folder", "folder",
                         current if current in options else (options[0] if options else None), options=options,
                         format_func=lambda p: folder_label(root, p, owner),
                         placeholder="none yet: upload a zip")
    if owner:
        uploads_ui(root, owner)
    return chosen or ""


def uploads_ui(root: Path, owner: str) -> None:
    """The student's own uploads with their size, a Delete button each, and the quota used; the
    lecturer's view: every upload, Share, and a clean-up."""
    mine = all_uploads(root) if owner == LECTURER else my_uploads(root, owner)
    title = "All uploads" if owner == LECTURER else f"Your uploads: {usage(root, owner).text()}"
    with st.expander(title, expanded=False):
        if not mine:
            st.caption("No uploads yet.")
        for u in mine:
            left, mid, right = st.columns([6, 2, 2])
            left.text(u.label(owner))
            if owner == LECTURER:
                shared = mid.checkbox("Shared", value=u.shared, key=f"share-upload-{u.folder.name}")
                if shared != u.shared:
                    share_upload(root, u.folder, owner, shared)
                    st.rerun()
            if right.button("Delete", key=f"delete-upload-{u.folder.name}"):
                try:
                    delete_upload(root, u.folder, owner)
                except UploadError as e:
                    st.error(plain(str(e)))
                else:
                    st.rerun()
        if owner == LECTURER and mine:
            days = st.number_input("Delete uploads older than (days)", 1, 3650, 30, key="uploads_clean_days")
            if st.button("Clean up uploads", key="uploads_clean"):
                count, freed = clean_uploads(root, float(days), owner)
                st.success(f"Deleted {count} uploads ({freed / 2**20:,.1f} MB).")


@st.cache_data(show_spinner=False, max_entries=64)
def parameter_count(model: str, shape: tuple, num_classes: int, options: tuple) -> tuple[int, int]:
    return parameter_counts(model, shape, num_classes, **dict(options))


def class_count(cfg: TrainConfig) -> int:
    """The dataset's classes; a folder's only when it is inside the data folder (a lesson link's path
    must not reveal anything about the server's other folders); 0 when unknown."""
    if cfg.dataset == FOLDER and folder_refusal(data_dir(), cfg.folder, identity()):
        return 0
    return cfg.num_classes()


def params_ui(cfg: TrainConfig, four: bool = False) -> tuple[str, str | None]:
    """(the one-line description of what trains, with its parameter count; the problem if any). With
    the four configurations, what the four runs use instead of the form's optimizer, rate and loss."""
    shape, classes = cfg.input_shape(), class_count(cfg)
    source = f"frozen {cfg.backbone} features of {cfg.dataset}" if cfg.backbone else cfg.dataset
    what = f"**{cfg.model}** on {source} ({'×'.join(map(str, shape))}"
    loss = LOSS_NAMES.get(cfg.loss, cfg.loss)
    length = f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} of batch {cfg.batch_size}"
    recipe = (f"{length} · as **four runs**: {four_configs_summary()}" if four else
              f"{cfg.optimizer} lr {cfg.lr:g} · {loss} · {length}")
    if not classes:  # a folder not chosen yet: nothing to count
        return f"{what}, one class per sub-folder) · {recipe}", None
    try:
        total, trainable = parameter_count(cfg.model, shape, classes, tuple(sorted(cfg.model_kwargs().items())))
    except ModelError as e:
        return "", str(e)
    count = f"**{total:,} parameters**" + (f" ({trainable:,} trainable)" if trainable != total else "")
    try:  # a Data lab or lesson link's modified training set: said in words, not only in the run's name
        words = describe(parse(cfg.data_mod, classes), class_names(cfg.dataset, cfg.folder)) if cfg.data_mod else ""
    except ConfigError as e:
        return "", str(e)
    return f"{what}, {classes} classes): {count} · {recipe}" + (f" · training set: {plain(words)}" if words else ""), None
