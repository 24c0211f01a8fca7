"""The Playground's controls (not a page): one table drives each widget, its lock, loading it from a link, and the configuration it makes."""
# Each setting is a row of CONTROLS (what its widget needs) beside its field in the link table
# (nets.playground.link.FIELDS: type, default, the menu's choices or the slider's bounds, whether it
# can be locked). The page draws the controls of each place with place_ui, which fills a dict of
# values by setting name; cfg.changed(**values) is the configuration on show.
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from nets.playground import data as pdata
from nets.playground import features as feats
from nets.playground import link
from nets.playground import model as pmodel
from nets.playground.state import PlaygroundConfig

S = st.session_state


@dataclass(frozen=True)
class Control:
    """What a setting's widget needs beside its field in the link table."""
    label: str
    draw: str                     # select, slider, toggle, checkboxes (one per choice), layers, regenerate
    place: str                    # bar (beside Play), data, features, layers
    key: str | None = None        # its session key (checkboxes, layers: each box's key starts with it)
    help: str | None = None
    shows: Callable = str         # how a menu or a checkbox names a choice
    when: Callable[[dict], bool] | None = None  # drawn only when the values chosen so far say so


# Every setting of the Playground, once, in the order it is drawn
CONTROLS = {
    "learning_rate": Control("Learning rate", "select", "bar", "pg_lr"),
    "activation": Control("Activation", "select", "bar", "pg_act"),
    "regularization": Control("Regularisation", "select", "bar", "pg_reg"),
    "reg_rate": Control("Reg. rate", "select", "bar", "pg_rate"),
    "loss": Control("Loss", "select", "bar", "pg_loss",
                    help="squared: TF's tanh output and ½(a − y)²; cross-entropy: sigmoid or softmax"),
    "dataset": Control("Dataset", "select", "data", "pg_data", shows=pdata.TITLES.get),
    "classes": Control("Classes", "slider", "data", "pg_k", when=lambda v: v["dataset"] in pdata.MULTICLASS),
    "noise": Control("Noise", "slider", "data", "pg_noise"),
    "train_percent": Control("Training data (%)", "slider", "data", "pg_ratio"),
    "batch_size": Control("Batch size", "slider", "data", "pg_batch"),
    "seed": Control("Regenerate", "regenerate", "data", help="New random points (a new seed)"),
    "features": Control("Features", "checkboxes", "features", "pg_f", shows=lambda n: feats.FEATURES[n][0]),
    "dropout": Control("Dropout", "slider", "features", "pg_drop"),
    "batch_norm": Control("Batch norm", "toggle", "features", "pg_bn"),
    "hidden": Control("Hidden layers", "layers", "layers", "pg_n"),
}


def load_controls(cfg: PlaygroundConfig) -> None:
    """Set every control to `cfg` (a link or a scenario was opened): the widgets read their keys."""
    for name, value in link.flat(cfg).items():
        control = CONTROLS[name]
        if control.draw == "checkboxes":
            for choice in link.FIELDS[name].choices:
                S[f"{control.key}_{choice}"] = choice in value
        elif control.draw == "layers":
            set_layers(value)
        elif control.key:
            S[control.key] = value


def remember(key, value):
    """Widgets lose their keyed value when the user leaves the page: start them from pg_cfg."""
    S.setdefault(key, value)
    return key


def control_ui(name: str, values: dict, locked: frozenset[str], where=st) -> None:
    """One setting's widget, drawn from its row in CONTROLS and its field in the link table, locked if the
    link locks it; the value it shows goes into `values`."""
    control, field, off = CONTROLS[name], link.FIELDS[name], name in locked
    if control.when and not control.when(values):
        return
    value, draw = values[name], control.draw
    if draw == "select":
        values[name] = where.selectbox(control.label, field.choices, key=remember(control.key, value), disabled=off,
                                       help=control.help, format_func=control.shows)
    elif draw == "slider":
        low, high, step = field.bounds
        values[name] = where.slider(control.label, low, high, step=step, key=remember(control.key, value),
                                    disabled=off)
    elif draw == "toggle":
        values[name] = where.toggle(control.label, key=remember(control.key, value), disabled=off)
    elif draw == "checkboxes":
        values[name] = tuple(n for n in field.choices if where.checkbox(
            control.shows(n), key=remember(f"{control.key}_{n}", n in value), disabled=off))
    elif draw == "layers":
        values[name] = layers_ui(off)
    elif draw == "regenerate":
        if where.button(control.label, width="stretch", help=control.help, disabled=off):
            values[name] = value + 1
        where.caption(f"Seed {values[name]}")


def place_ui(place: str, values: dict, locked: frozenset[str], where=None) -> None:
    """The controls of one place in CONTROLS' order, each in its own of `where` (columns) if given."""
    names = [name for name, control in CONTROLS.items() if control.place == place]
    for name, column in zip(names, where or [st] * len(names)):
        control_ui(name, values, locked, column)


def size_key(i: int, count: int) -> str:
    """Layer i's size box, among `count` layers."""
    return f"{CONTROLS['hidden'].key}{i}_{count}"


def set_layers(hidden) -> None:
    """The hidden layers' sizes, and each size box's value (a box's key names its layer and the layer count,
    so a box of a new layout starts from its size, not from an older box's)."""
    S.pg_hidden = tuple(int(n) for n in hidden)
    for i, n in enumerate(S.pg_hidden):
        S[size_key(i, len(S.pg_hidden))] = n


def layer_sizes() -> tuple[int, ...]:
    """The sizes as the boxes on show hold them (a box typed into since the last run included)."""
    hidden = S.pg_hidden
    return tuple(int(S.get(size_key(i, len(hidden)), n)) for i, n in enumerate(hidden))


def add_layer() -> None:
    """➕'s callback: callbacks run before the script, so the count, the boxes, the diagram and the weight
    picker all show the new layers in this same run (issue 20: the count lagged one click)."""
    if len(S.pg_hidden) < pmodel.MAX_LAYERS:
        set_layers(layer_sizes() + (2,))


def remove_layer() -> None:
    """➖'s callback (see add_layer)."""
    set_layers(layer_sizes()[:-1])


def layers_ui(locked: bool) -> tuple[int, ...]:
    """The layer count with ➕ and ➖, and a size box per layer, within the link table's bounds."""
    hidden = S.pg_hidden
    cols = st.columns([1.2, 0.6, 0.6] + [0.7] * pmodel.MAX_LAYERS, vertical_alignment="bottom")
    cols[0].markdown(f"**{len(hidden)} hidden layer{'s' * (len(hidden) != 1)}**")
    cols[1].button("➕", help="Add a hidden layer", on_click=add_layer,
                   disabled=len(hidden) >= pmodel.MAX_LAYERS or locked)
    cols[2].button("➖", help="Remove the last hidden layer", on_click=remove_layer, disabled=not hidden or locked)
    low, high, _ = link.FIELDS["hidden"].bounds
    sizes = tuple(int(cols[3 + i].number_input(f"Layer {i + 1}", low, high,
                                               key=remember(size_key(i, len(hidden)), n), disabled=locked))
                  for i, n in enumerate(hidden))
    S.pg_hidden = sizes
    return sizes
