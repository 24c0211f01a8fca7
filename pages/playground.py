"""Playground: TensorFlow Playground on 2-D data, in PyTorch: pick data, features and a network, press Play."""
import numpy as np
import streamlit as st

from nets.playground import data as pdata
from nets.playground import features as feats
from nets.playground import model as pmodel
from nets.playground import pictures
from nets.playground.state import LEARNING_RATES, REG_RATES, PlaygroundConfig, new_state, set_learning_rate
from nets.playground.train import boundary, neuron_maps, step, train_for, weights
from pages._common import ensure_app_entry

ensure_app_entry()

UPDATE_S = 0.3  # one fragment run: train this long, then redraw (tests/bench_playground.py)
TRAIN_S = 0.12
LOSS_SPEC = {"height": 110, "mark": {"type": "line"},
             "encoding": {"x": {"field": "epoch", "type": "quantitative"},
                          "y": {"field": "loss", "type": "quantitative", "title": None},
                          "color": {"field": "set", "type": "nominal", "title": None,
                                    "scale": {"domain": ["train", "test"], "range": ["#888888", "#222222"]},
                                    "legend": {"orient": "top"}}}}
S = st.session_state
S.setdefault("pg_cfg", PlaygroundConfig())
S.setdefault("pg_init", 0)
S.setdefault("pg_playing", False)


def remember(key, value):
    """Widgets lose their keyed value when the user leaves the page: start them from pg_cfg."""
    S.setdefault(key, value)
    return key


def controls_ui(cfg: PlaygroundConfig) -> dict:
    c = st.columns([0.8, 0.7, 0.7, 1.1, 1, 1, 1, 1.2])
    playing = S.pg_playing
    if c[0].button("⏸ Pause" if playing else "▶ Play", type="primary", width="stretch"):
        S.pg_playing = not playing
        st.rerun()  # the fragment's run_every changes only on a full run
    if c[1].button("Step", width="stretch", help="One epoch") and "pg_state" in S:
        state = S.pg_state
        step(state, max(len(state.train_y) // state.cfg.batch_size, 1))
    if c[2].button("Reset", width="stretch", help="New random weights, epoch 0"):
        S.pg_init += 1
        S.pop("pg_state", None)
    lr = c[3].selectbox("Learning rate", LEARNING_RATES, key=remember("pg_lr", cfg.learning_rate))
    act = c[4].selectbox("Activation", list(pmodel.ACTIVATIONS), key=remember("pg_act", cfg.net.activation))
    reg = c[5].selectbox("Regularisation", pmodel.REGULARIZATION, key=remember("pg_reg", cfg.net.regularization))
    rate = c[6].selectbox("Reg. rate", REG_RATES, key=remember("pg_rate", cfg.net.reg_rate))
    loss = c[7].selectbox("Loss", pmodel.LOSSES, key=remember("pg_loss", cfg.net.loss),
                          help="squared: TF's tanh output and ½(a − y)²; cross-entropy: sigmoid or softmax")
    return dict(learning_rate=lr, activation=act, regularization=reg, reg_rate=rate, loss=loss)


def data_ui(cfg: PlaygroundConfig) -> dict:
    st.markdown("**Data**")
    d = cfg.data
    name = st.selectbox("Dataset", pdata.DATASETS, format_func=pdata.TITLES.get, key=remember("pg_data", d.dataset))
    classes = st.slider("Classes", 3, 6, key=remember("pg_k", d.classes)) if name in pdata.MULTICLASS else d.classes
    noise = st.slider("Noise", 0, 50, key=remember("pg_noise", d.noise))
    ratio = st.slider("Training data (%)", 10, 90, step=10, key=remember("pg_ratio", d.train_percent))
    batch = st.slider("Batch size", 1, 30, key=remember("pg_batch", cfg.batch_size))
    seed = d.seed
    if st.button("Regenerate", width="stretch", help="New random points (a new seed)"):
        seed = d.seed + 1
    st.toggle("Show test data", key=remember("pg_show_test", False))
    st.toggle("Discretise output", key=remember("pg_discrete", False))
    st.caption(f"Seed {seed}")
    return dict(dataset=name, classes=classes, noise=noise, train_percent=ratio, batch_size=batch, seed=seed)


def features_ui(cfg: PlaygroundConfig) -> dict:
    st.markdown("**Features**")
    chosen = tuple(n for n, (label, _) in feats.FEATURES.items()
                   if st.checkbox(label, key=remember(f"pg_f_{n}", n in cfg.features)))
    drop = st.slider("Dropout", 0.0, 0.5, step=0.05, key=remember("pg_drop", cfg.net.dropout))
    bn = st.toggle("Batch norm", key=remember("pg_bn", cfg.net.batch_norm))
    return dict(features=chosen, dropout=drop, batch_norm=bn)


def layers_ui(cfg: PlaygroundConfig) -> dict:
    hidden = list(cfg.net.hidden)
    cols = st.columns([1.2, 0.6, 0.6] + [0.7] * pmodel.MAX_LAYERS, vertical_alignment="bottom")
    cols[0].markdown(f"**{len(hidden)} hidden layer{'s' * (len(hidden) != 1)}**")
    if cols[1].button("➕", help="Add a hidden layer", disabled=len(hidden) >= pmodel.MAX_LAYERS):
        hidden.append(2)
    if cols[2].button("➖", help="Remove the last hidden layer", disabled=not hidden):
        hidden.pop()
    for i, n in enumerate(hidden):
        key = f"pg_n{i}_{len(hidden)}"  # a new key when layers change: the box shows the new count
        hidden[i] = cols[3 + i].number_input(f"Layer {i + 1}", 1, pmodel.MAX_NEURONS, key=remember(key, n))
    return dict(hidden=tuple(int(n) for n in hidden))


def current_state(cfg: PlaygroundConfig):
    """Rebuild on any change but the learning rate (which TF Playground also changes in place)."""
    state = S.get("pg_state")
    if state is not None and state.cfg.changed(learning_rate=cfg.learning_rate) == cfg:
        if state.cfg.learning_rate != cfg.learning_rate:
            set_learning_rate(state, cfg.learning_rate)
        return state
    S.pg_state = new_state(cfg, S.pg_init)
    return S.pg_state


@st.fragment(run_every=UPDATE_S if S.pg_playing else None)
def live():
    state = S.pg_state
    if S.pg_playing:
        train_for(state, TRAIN_S)
    discrete = S.pg_discrete
    left, right = st.columns([1.3, 1.1])
    inputs, layers = neuron_maps(state, 20)
    labels = list(state.cfg.features)
    with left:
        st.image(pictures.network(inputs, layers, weights(state), labels, boundary(state, 20),
                                  discretize=discrete), width="stretch")
    with right:
        train, test = state.history[-1][1:] if state.history else (float("nan"),) * 2
        m = st.columns(3)
        m[0].metric("Epoch", f"{state.epoch:,}")
        m[1].metric("Training loss", f"{train:.3f}")
        m[2].metric("Test loss", f"{test:.3f}")
        d = state.data
        test_points = (d.test_x, d.test_y) if S.pg_show_test else None
        st.image(pictures.heatmap(boundary(state, 80), (d.train_x, d.train_y), test_points, d.classes,
                                  size=300, discretize=discrete), width="stretch")
        if state.history:
            h = np.array(state.history)
            rows = [{"epoch": e, "set": s, "loss": v} for e, a, b in h for s, v in (("train", a), ("test", b))]
            st.vega_lite_chart({"data": {"values": rows}, **LOSS_SPEC}, width="stretch")


st.subheader("Playground: a small network learns a 2-D pattern")
cfg = S.pg_cfg
changes = controls_ui(cfg)
side, middle, main = st.columns([1, 0.6, 3.6])
with side:
    changes |= data_ui(cfg)
with middle:
    changes |= features_ui(cfg)
with main:
    changes |= layers_ui(cfg)
try:
    cfg = cfg.changed(**changes)
    state = current_state(cfg)
    S.pg_cfg = cfg
except ValueError as e:
    st.error(str(e))
    S.pg_playing = False
    st.stop()
if state.epoch == 0 and not state.history:
    step(state, 0)  # records the starting losses for the numbers and the curve
with main:
    live()
