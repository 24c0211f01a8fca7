"""The Build page's parts (not a page): the network in session state with undo, the problems with their fix
buttons, the layer table, the editor of one layer, the exercises."""
# Every edit is a callback: it changes the stored network before the page is drawn again, so the table,
# the totals and the problems always describe what the widgets show. Widget keys carry the network's edit
# count, so after an undo, a fix or a template every box shows the stored value again.
from __future__ import annotations

import pandas as pd
import streamlit as st

from nets.engine import netshape, netspec
from nets.engine.catalog import SHAPES
from nets.engine.config import TrainConfig
from nets.engine.models import ModelError
from nets.engine.netbuild import copy_of
from nets.inspect import netview
from nets.text import plain
from pages._train_state import BUILDER_KEY

UNDO_KEY, EDITS_KEY, PICK_KEY, MSG_KEY = "builder_undo", "builder_edits", "builder_selected", "builder_message"
PICK_BOX, START_BOX, YOURS = "builder_pick", "builder_start", "yours"
UNDO_STEPS, SHOWN_PROBLEMS, SHOWN_WARNINGS, FIX_BUTTONS = 20, 2, 2, 3
TABLE_HEIGHT = 420  # 12 rows: a longer network scrolls inside the table, never the page


def COUNT(**kwargs):
    return st.column_config.NumberColumn(format="localized", **kwargs)


# ------------------------------------------------------------------------------ the network in the session
def spec() -> tuple:
    """The network being built: a tuple of netspec layers (Train's "Edit in the builder" writes it too)."""
    got = st.session_state.get(BUILDER_KEY, ())
    return tuple(netspec.normal(d) for d in got) if isinstance(got, (list, tuple)) else ()


def edits() -> int:
    return st.session_state.get(EDITS_KEY, 0)


def set_spec(layers, select: int | None = None, undo: bool = True, start: str = YOURS) -> None:
    """Store a new network (a callback's work, or before the bar is drawn), the old one on the undo list;
    `start`: the "Start from" menu's entry that made it (YOURS: an edit)."""
    layers = tuple(netspec.normal(d) for d in layers)
    old = spec()
    if layers == old:
        return
    if undo:
        st.session_state[UNDO_KEY] = [*st.session_state.get(UNDO_KEY, []), old][-UNDO_STEPS:]
    st.session_state[BUILDER_KEY] = layers
    st.session_state[EDITS_KEY] = edits() + 1
    st.session_state[START_BOX] = start  # the "Start from" menu says where this network came from
    if select is not None:
        st.session_state[PICK_KEY] = select
    pick(len(layers))


def pick(count: int) -> int:
    """The selected layer, kept within the network (and in the Layer box's own key, set before it is drawn)."""
    i = max(0, min(st.session_state.get(PICK_KEY, 0), count - 1))
    st.session_state[PICK_KEY] = st.session_state[PICK_BOX] = i
    return i


def undo() -> None:
    steps = st.session_state.get(UNDO_KEY, [])
    if steps:
        set_spec(steps[-1], undo=False)
        st.session_state[UNDO_KEY] = steps[:-1]


def say(kind: str, text: str) -> None:
    """A message for the next run of the page (callbacks cannot draw); `text` is shown as text."""
    st.session_state[MSG_KEY] = (kind, text)


def message_ui() -> None:
    if got := st.session_state.pop(MSG_KEY, None):
        getattr(st, got[0])(plain(got[1]))


# ------------------------------------------------------------------------------ problems and warnings
def fix(f: netshape.Fix) -> None:
    layers = netshape.apply_fix(spec(), f)
    set_spec(layers, select=f.index if f.op in ("insert", "set") else None)


def problems_ui(analysis: netshape.Analysis) -> None:
    """At most two errors, each with its fixes as one-click buttons; warnings as grey lines."""
    for pi, problem in enumerate(analysis.problems[:SHOWN_PROBLEMS]):
        st.error(plain(problem.text))
        if problem.fixes:
            cols = st.columns(FIX_BUTTONS)
            for fi, f in enumerate(problem.fixes[:FIX_BUTTONS]):
                cols[fi].button(plain(f.text), icon=":material/build:", key=f"builder_fix_{edits()}_{pi}_{fi}",
                                on_click=fix, args=(f,),
                                width="stretch", help="One click makes this change; Undo takes it back.")
    if (more := len(analysis.problems) - SHOWN_PROBLEMS) > 0:
        st.caption(f"+ {more} more problem{'s' if more > 1 else ''}")
    for w in analysis.warnings[:SHOWN_WARNINGS]:
        st.caption(f"⚠ {plain(w.text)}")
    if (more := len(analysis.warnings) - SHOWN_WARNINGS) > 0:
        st.caption(f"+ {more} more warning{'s' if more > 1 else ''}")


# ------------------------------------------------------------------------------ the table
def table_ui(rows: list[dict]) -> None:
    if not rows:
        st.info("No layers yet: add one on the right (Flatten, then Linear, is logistic regression), or start "
                "from a template above.")
        return
    df = pd.DataFrame([{c: r[c] for c in netview.COLUMNS} for r in rows])
    # about 580 px in all: the whole table is in view beside the editor at 1366×768, sidebar open
    config = {"#": st.column_config.NumberColumn(width=34), "layer": st.column_config.TextColumn(width=95),
              "settings": st.column_config.TextColumn(width=165), "output": st.column_config.TextColumn(width=85),
              "parameters": COUNT(label="params", width=75), "multiply-adds": COUNT(label="mult-adds", width=95),
              "check": st.column_config.TextColumn("", width=30)}
    # as tall as its rows (35 px each and the header), up to TABLE_HEIGHT; a longer network scrolls inside it
    st.dataframe(df, hide_index=True, width="stretch", height=min(TABLE_HEIGHT, 35 * (len(rows) + 1) + 3),
                 column_config=config)


# ------------------------------------------------------------------------------ the editor
def _set_field(i: int, name: str, key: str) -> None:
    layers = list(spec())
    value = st.session_state[key]
    layers[i] = netspec.normal({**layers[i], name: value})
    set_spec(layers)


def _move(i: int, to: int) -> None:
    set_spec(netshape.apply_fix(spec(), netshape.Fix("", "move", i, to=to)), select=to)


def _duplicate(i: int) -> None:
    layers = spec()
    set_spec((*layers[:i + 1], layers[i], *layers[i + 1:]), select=i + 1)


def _delete(i: int) -> None:
    layers = spec()
    set_spec(layers[:i] + layers[i + 1:], select=max(i - 1, 0))


def _add(after: int) -> None:
    kind = st.session_state.get("builder_add_type", "relu")
    layers = spec()
    at = min(after + 1, len(layers))
    set_spec((*layers[:at], netspec.layer(kind), *layers[at:]), select=at)


def field_ui(i: int, layer, f: netspec.Field) -> None:
    """One setting of the selected layer as a box within its netspec range."""
    key = f"builder_f_{edits()}_{i}_{f.name}"
    value = layer.get(f.name, f.default)
    label = {"out": "outputs (0: one per class)", "in": "inputs (0: automatic)"}.get(f.name, f.name) \
        if layer["type"] == "linear" else f.name
    common = dict(key=key, on_change=_set_field, args=(i, f.name, key), help=f.help or None)
    if f.kind == "bool":
        st.checkbox(label, value=bool(value), **common)
    elif f.kind == "choice":
        st.selectbox(label, list(f.choices), index=list(f.choices).index(value) if value in f.choices else 0, **common)
    elif f.kind == "float":
        st.number_input(label, float(f.lo), float(f.hi), float(value), step=0.05, format="%.2f", **common)
    else:
        st.number_input(label, int(f.lo), int(f.hi), int(value), step=1, **common)


def editor_ui(rows: list[dict], analysis: netshape.Analysis) -> None:
    """The selected layer: where its numbers come from, its settings, moves; then what to insert after it."""
    layers = spec()
    add_after = len(layers) - 1
    if layers:
        names = netspec.labels(layers)
        if st.session_state.get(PICK_BOX) in range(len(layers)):  # the user's choice in the box
            st.session_state[PICK_KEY] = st.session_state[PICK_BOX]
        pick(len(layers))
        types = [netspec.TYPES.get(d.get("type")) if isinstance(d, dict) else None for d in layers]
        i = st.selectbox("Layer", range(len(layers)), key=PICK_BOX,
                         format_func=lambda k: f"{k + 1} · {names[k]}" + (f": {types[k].help}" if types[k] else ""))
        st.session_state[PICK_KEY] = add_after = i
        layer, t = layers[i], types[i]
        formulas_ui(rows[i], analysis)
        if t is not None and t.fields:
            boxes = st.columns(2)
            for n, f in enumerate(t.fields):
                with boxes[n % 2]:
                    field_ui(i, layer, f)
        up, down, dup, rm = st.columns(4)
        up.button("", icon=":material/arrow_upward:", key="builder_up", help="Move up", on_click=_move,
                  args=(i, i - 1), disabled=i == 0, width="stretch")
        down.button("", icon=":material/arrow_downward:", key="builder_down", help="Move down", on_click=_move,
                    args=(i, i + 1), disabled=i == len(layers) - 1, width="stretch")
        dup.button("", icon=":material/content_copy:", key="builder_dup", help="Duplicate", on_click=_duplicate,
                   args=(i,), width="stretch", disabled=len(layers) >= netspec.MAX_LAYERS)
        rm.button("", icon=":material/delete:", key="builder_delete", help="Delete", on_click=_delete, args=(i,),
                  width="stretch")
    kind, add = st.columns([2.2, 1], vertical_alignment="bottom")
    kind.selectbox("Insert after it" if layers else "First layer", list(netspec.TYPES), key="builder_add_type",
                   format_func=lambda k: f"{netspec.TYPES[k].label}: {netspec.TYPES[k].help}")
    add.button("Add", key="builder_add", on_click=_add, args=(add_after,), width="stretch",
               disabled=len(layers) >= netspec.MAX_LAYERS)


def formulas_ui(row: dict, analysis: netshape.Analysis) -> None:
    """Where the selected layer's numbers come from, as Anatomy writes them (a block: part by part)."""
    if not analysis.ok:
        st.caption("Its formulas appear once the network has no problem left.")
        return
    if row["parts"]:
        lines = [f"{plain(p['part'])}: {plain(p['formula'].split(' (')[0])}" for p in row["parts"]
                 if not p["formula"].startswith("—")]
        st.caption("  \n".join([f"**Parameters**, {row['parameters']:,} in all:", *lines]))
        return
    lines = [f"**Parameters:** {plain(row['param formula'])}", f"**Output size:** {plain(row['size formula'])}"]
    if row["multiply-adds"]:
        lines.append(f"**Multiply-adds per image:** {row['multiply-adds']:,}")
    st.caption("  \n".join(lines))


# ------------------------------------------------------------------------------ from elsewhere
def open_in_builder_ui(info: dict, key: str) -> None:
    """Runs: a button that opens a saved run's network on this page, a copy for a built-in architecture
    (the architecture only: the builder starts from no weights). Nothing for what it cannot copy."""
    try:
        cfg = TrainConfig.from_dict(info.get("config") or {})
        if cfg.backbone:
            return
        layers = copy_of(cfg.model, cfg.model_kwargs(), cfg.input_shape())
    except (ModelError, TypeError, ValueError, KeyError):  # a pretrained ResNet, a damaged record
        return
    if st.button("🧱 Open in the builder", key=key, help="This run's network, layer by layer, to edit and train "
                 "again (its architecture, not its weights)."):
        set_spec(layers, select=0)
        if cfg.dataset in SHAPES:
            st.session_state["builder_dataset_v"] = cfg.dataset
            st.session_state.pop("builder_dataset", None)
        st.switch_page("pages/build.py")
