"""Playground: TensorFlow Playground on 2-D data, in PyTorch: pick data, features and a network, press Play."""
import pandas as pd
import streamlit as st

from nets.playground import data as pdata
from nets.playground import features as feats
from nets.playground import model as pmodel
from nets.playground import edges, gate, halfplanes, link, pictures, scenarios, verdict
from nets.playground.state import LEARNING_RATES, REG_RATES, PlaygroundConfig, new_state, set_learning_rate
from nets.playground.train import boundary, epoch_batches, neuron_maps, record, step, train_for, weights
from nets.link.train import is_lesson, lesson_params, signature
from nets.text import plain
from pages._common import ensure_app_entry

ensure_app_entry()

UPDATE_S = 0.2  # 5 updates a second; each trains ~25 ms, then redraws (tests/bench_playground.py)
LOSS_SPEC = {"mark": {"type": "line"}, "height": 80, "autosize": {"type": "fit-x", "contains": "padding"},
             # whole epochs on the axis, from 0 to at least 1: one point must not read "0.000000"
             "encoding": {"x": {"field": "epoch", "type": "quantitative", "title": None,
                                "axis": {"format": "d", "tickMinStep": 1}},
                          "y": {"field": "loss", "type": "quantitative", "title": "loss"},
                          "color": {"field": "set", "type": "nominal", "title": None,
                                    "scale": {"domain": ["train", "test"], "range": ["#999999", "#222222"]},
                                    "legend": {"orient": "top-right", "direction": "horizontal", "padding": 0}}}}
S = st.session_state
S.setdefault("pg_cfg", PlaygroundConfig())
S.setdefault("pg_init", 0)
S.setdefault("pg_playing", False)
S.setdefault("pg_hidden", S.pg_cfg.net.hidden)  # the layer boxes' sizes: ➕ and ➖ change it in callbacks


def load(cfg: PlaygroundConfig) -> None:
    """Set every control to `cfg` (a link was opened): the widgets read their keys."""
    S.pg_cfg = cfg
    S.pop("pg_state", None)
    d, n = cfg.data, cfg.net
    for key, value in dict(pg_lr=cfg.learning_rate, pg_act=n.activation, pg_reg=n.regularization, pg_rate=n.reg_rate,
                           pg_loss=n.loss, pg_data=d.dataset, pg_k=d.classes, pg_noise=d.noise,
                           pg_ratio=d.train_percent, pg_batch=cfg.batch_size, pg_drop=n.dropout,
                           pg_bn=n.batch_norm).items():
        S[key] = value
    for name in feats.FEATURES:
        S[f"pg_f_{name}"] = name in cfg.features
    set_layers(n.hidden)


def link_ui() -> frozenset[str]:
    """A link (?lesson=1&dataset=…&hide=…) sets the controls once per session; the ones it locks stay locked."""
    params = st.query_params.to_dict()
    if is_lesson(params) and S.get("pg_link", {}).get("sig") != signature(params):
        got = link.decode(params)
        load(got.cfg)
        S.pg_link = {"sig": signature(params), "params": lesson_params(params), "pinned": sorted(got.hidden),
                     "problems": got.problems}
        S.pg_start = got.weights  # the first network built from this link starts from them
    state = S.get("pg_link")
    if not state:
        return frozenset()
    for key, value in state["params"].items():  # st.navigation drops them on a page switch
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    if state["problems"]:
        st.warning(plain("This link had problems; defaults were used for: " + "; ".join(state["problems"]) + "."))
    return frozenset(state["pinned"])


def set_up(key: str) -> None:
    """A scenario's settings, the seed its test trained from, epoch 0 and no prediction yet (a callback:
    it sets widget keys before the widgets are drawn)."""
    load(scenarios.BY_KEY[key].config())
    S.pg_init, S.pg_playing, S.pg_scenario = 0, False, key
    S.pop("pg_predict", None)


def scenario_ui() -> None:
    """A popover beside the title: it costs no height, so Play, the heat map and the curve stay above the fold."""
    with st.popover("🔮 Predict, then press Play", width="stretch"):
        c = st.columns([2, 1], vertical_alignment="bottom")
        key = c[0].selectbox("Scenario", list(scenarios.BY_KEY), key="pg_scenario_pick",
                             format_func=lambda k: scenarios.BY_KEY[k].title)
        c[1].button("Set it up", on_click=set_up, args=(key,), width="stretch")
        active = scenarios.BY_KEY.get(S.get("pg_scenario"))
        if active:
            st.markdown(f"**{active.title}.** {active.question}")
            st.radio("Your prediction", list(verdict.OUTCOMES), format_func=verdict.OUTCOMES.get, index=None,
                     key="pg_predict")
            st.caption(f"Then press ▶ Play: after {scenarios.EPOCHS} epochs the page says what happened and why.")


def verdict_ui(state) -> None:
    """Below the diagram: how far the scenario has played, then what the loss did, the prediction and why."""
    active = scenarios.BY_KEY.get(S.get("pg_scenario"))
    if not active or not state.history:
        return
    if state.epochs_done() < scenarios.EPOCHS:
        st.caption(f"**{active.title}**: epoch {state.epoch} of {scenarios.EPOCHS}; the verdict comes after that.")
        return
    got = verdict.verdict(state.history, verdict.guess_loss(state))
    what = verdict.OUTCOMES[got.kind].split(":")[0]
    if state.cfg.changed(learning_rate=active.config().learning_rate) != active.config():
        st.info(f"**{what}.** {got.message} (You changed the scenario's settings: this is your own network's story.)")
        return
    guess = S.get("pg_predict")
    said = ("You predicted this: well done." if guess == got.kind else
            f"You predicted: {verdict.OUTCOMES[guess].split(':')[0].lower()}." if guess else "You made no prediction.")
    (st.success if guess == got.kind else st.info)(f"**{what}.** {got.message} {said}\n\n**Why:** {active.why}")


def set_weight() -> None:
    """The number box's callback: that one weight in the live model, the losses recorded again; Play goes on from it."""
    state = S.get("pg_state")
    chosen = {w.name: w for w in edges.listing(state.model, state.cfg.features)} if state is not None else {}
    weight = chosen.get(S.get("pg_w_pick"))
    if weight is None:
        return
    try:
        edges.set_weight(state.model, weight, S.pg_w_new)
    except ValueError as e:
        S.pg_w_error = str(e)
        return
    record(state)  # the numbers and the curve show what the new weight does at once


def weight_ui(state) -> None:
    """TF Playground's click on an edge: pick a weight by its diagram name, see its value now, type a new one."""
    # picked by name, not by place: the browser sends back the label it shows, and after a change of layers
    # that label may belong to the last network (issue 20: a str where an index was compared with >=)
    chosen = {w.name: w for w in edges.listing(state.model, state.cfg.features)}
    if S.get("pg_w_pick") not in chosen:  # a network without the last pick's weight: its first one
        S.pg_w_pick = next(iter(chosen))
    with st.expander("Inspect a weight"):
        c = st.columns([1.3, 1], vertical_alignment="bottom")
        pick = c[0].selectbox("Weight", list(chosen), key="pg_w_pick",
                              help="Hidden neurons are h<layer>.<neuron>, counted from the top of the diagram.")
        weight = chosen.get(pick) or next(iter(chosen.values()))
        now = edges.value(state.model, weight)
        # the box shows the weight's value, except while Play runs: then it keeps what the student is typing
        if S.get("pg_w_for") != (id(state.model), pick) or not S.pg_playing:
            S.pg_w_new = edges.boxed(now)
            S.pg_w_for = (id(state.model), pick)
        c[1].number_input("Set it to", -pmodel.MAX_WEIGHT, pmodel.MAX_WEIGHT, step=0.1, format="%.4f",
                          key="pg_w_new", on_change=set_weight)
        st.caption(f"**{weight.name}** is now **{now:+.4f}**. Enter a new value: the picture changes at once "
                   "and training goes on from it.")
        if S.get("pg_w_error"):
            st.error(S.pop("pg_w_error"))


def share_ui(cfg: PlaygroundConfig) -> None:
    with st.expander("Share as link"):
        st.multiselect("Controls to lock", list(link.FIELDS), key="pg_share_hide")
        state = S.get("pg_state")
        why = link.weights_problem(cfg, pmodel.flat_weights(state.model)) if state is not None else "no network yet"
        with_weights = st.checkbox("with the current weights", key="pg_share_weights", disabled=why is not None,
                                   help=f"Not now: {why}." if why else
                                   "The network opens as it is now (pause first to share a fixed point), not random.")
        weights = pmodel.flat_weights(state.model) if with_weights and why is None else None
        st.code(link.encode(cfg, set(S.pg_share_hide), st.context.url, weights), language=None, wrap_lines=True,
                height=220 if weights else "content")  # a hundred numbers in this narrow column: scroll, copy button
        st.caption("Whoever opens this link gets this page with these settings; locked controls are greyed out.")


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
        with gate.turn():  # one epoch, then this same run redraws: one click, one epoch
            step(S.pg_state, epoch_batches(S.pg_state))
    if c[2].button("Reset", width="stretch", help="New random weights, epoch 0"):
        S.pg_init += 1
        S.pop("pg_state", None)
    lr = c[3].selectbox("Learning rate", LEARNING_RATES, key=remember("pg_lr", cfg.learning_rate), disabled="learning_rate" in LOCKED)
    act = c[4].selectbox("Activation", list(pmodel.ACTIVATIONS), key=remember("pg_act", cfg.net.activation), disabled="activation" in LOCKED)
    reg = c[5].selectbox("Regularisation", pmodel.REGULARIZATION, key=remember("pg_reg", cfg.net.regularization),
                          disabled="regularization" in LOCKED)
    rate = c[6].selectbox("Reg. rate", REG_RATES, key=remember("pg_rate", cfg.net.reg_rate), disabled="reg_rate" in LOCKED)
    loss = c[7].selectbox("Loss", pmodel.LOSSES, key=remember("pg_loss", cfg.net.loss), disabled="loss" in LOCKED,
                          help="squared: TF's tanh output and ½(a − y)²; cross-entropy: sigmoid or softmax")
    return dict(learning_rate=lr, activation=act, regularization=reg, reg_rate=rate, loss=loss)


def data_ui(cfg: PlaygroundConfig) -> dict:
    st.markdown("**Data**")
    d = cfg.data
    name = st.selectbox("Dataset", pdata.DATASETS, format_func=pdata.TITLES.get, key=remember("pg_data", d.dataset),
                        disabled="dataset" in LOCKED)
    classes = st.slider("Classes", 3, 6, key=remember("pg_k", d.classes), disabled="classes" in LOCKED) if name in pdata.MULTICLASS else d.classes
    noise = st.slider("Noise", 0, 50, key=remember("pg_noise", d.noise), disabled="noise" in LOCKED)
    ratio = st.slider("Training data (%)", 10, 90, step=10, key=remember("pg_ratio", d.train_percent),
                      disabled="train_percent" in LOCKED)
    batch = st.slider("Batch size", 1, 30, key=remember("pg_batch", cfg.batch_size), disabled="batch_size" in LOCKED)
    seed = d.seed
    if st.button("Regenerate", width="stretch", help="New random points (a new seed)",
                 disabled="seed" in LOCKED):
        seed = d.seed + 1
    st.caption(f"Seed {seed}")
    return dict(dataset=name, classes=classes, noise=noise, train_percent=ratio, batch_size=batch, seed=seed)


def features_ui(cfg: PlaygroundConfig) -> dict:
    st.markdown("**Features**")
    chosen = tuple(n for n, (label, _) in feats.FEATURES.items()
                   if st.checkbox(label, key=remember(f"pg_f_{n}", n in cfg.features),
                                   disabled="features" in LOCKED))
    drop = st.slider("Dropout", 0.0, 0.5, step=0.05, key=remember("pg_drop", cfg.net.dropout),
                     disabled="dropout" in LOCKED)
    bn = st.toggle("Batch norm", key=remember("pg_bn", cfg.net.batch_norm), disabled="batch_norm" in LOCKED)
    return dict(features=chosen, dropout=drop, batch_norm=bn)


def set_layers(hidden) -> None:
    """The hidden layers' sizes, and each size box's value (a box's key names its layer and the layer count,
    so a box of a new layout starts from its size, not from an older box's)."""
    S.pg_hidden = tuple(int(n) for n in hidden)
    for i, n in enumerate(S.pg_hidden):
        S[f"pg_n{i}_{len(S.pg_hidden)}"] = n


def layer_sizes() -> tuple[int, ...]:
    """The sizes as the boxes on show hold them (a box typed into since the last run included)."""
    hidden = S.pg_hidden
    return tuple(int(S.get(f"pg_n{i}_{len(hidden)}", n)) for i, n in enumerate(hidden))


def add_layer() -> None:
    """➕'s callback: callbacks run before the script, so the count, the boxes, the diagram and the weight
    picker all show the new layers in this same run (issue 20: the count lagged one click)."""
    if len(S.pg_hidden) < pmodel.MAX_LAYERS:
        set_layers(layer_sizes() + (2,))


def remove_layer() -> None:
    """➖'s callback (see add_layer)."""
    set_layers(layer_sizes()[:-1])


def layers_ui() -> dict:
    hidden, locked = S.pg_hidden, "hidden" in LOCKED
    cols = st.columns([1.2, 0.6, 0.6] + [0.7] * pmodel.MAX_LAYERS, vertical_alignment="bottom")
    cols[0].markdown(f"**{len(hidden)} hidden layer{'s' * (len(hidden) != 1)}**")
    cols[1].button("➕", help="Add a hidden layer", on_click=add_layer,
                   disabled=len(hidden) >= pmodel.MAX_LAYERS or locked)
    cols[2].button("➖", help="Remove the last hidden layer", on_click=remove_layer, disabled=not hidden or locked)
    sizes = tuple(int(cols[3 + i].number_input(f"Layer {i + 1}", 1, pmodel.MAX_NEURONS,
                                               key=remember(f"pg_n{i}_{len(hidden)}", n), disabled=locked))
                  for i, n in enumerate(hidden))
    S.pg_hidden = sizes
    return dict(hidden=sizes)


def current_state(cfg: PlaygroundConfig):
    """Rebuild on any change but the learning rate (which TF Playground also changes in place)."""
    state = S.get("pg_state")
    if state is not None and state.cfg.changed(learning_rate=cfg.learning_rate) == cfg:
        if state.cfg.learning_rate != cfg.learning_rate:
            set_learning_rate(state, cfg.learning_rate)
        return state
    start = S.pop("pg_start", None)  # a link's weights, used once and only if they fit this network
    S.pg_from_link = bool(start) and link.weights_problem(cfg, start) is None
    S.pg_state = new_state(cfg, S.pg_init, start if S.pg_from_link else None)
    return S.pg_state


@st.fragment(run_every=UPDATE_S if S.pg_playing else None)
def live():
    state = S.pg_state
    discrete = S.setdefault("pg_discrete", False)
    show_test = S.setdefault("pg_show_test", False)
    planes = S.setdefault("pg_planes", False)
    d = state.data
    with gate.turn():  # all playing students share one slot: the rest of the server keeps its share
        if S.pg_playing:
            train_for(state)
        inputs, layers = neuron_maps(state, 20)
        net = pictures.network(inputs, layers, weights(state), list(state.cfg.features), boundary(state, 20),
                               discretize=discrete)
        test_points = (d.test_x, d.test_y) if show_test else None
        plane_ok = bool(state.cfg.net.hidden) and not state.cfg.net.batch_norm \
            and state.cfg.features == halfplanes.PLANE
        lines = halfplanes.lines(*weights(state)[0], state.cfg.features) if planes and plane_ok else ()
        heat = pictures.heatmap(boundary(state, 80), (d.train_x, d.train_y), test_points, d.classes,
                                size=300, discretize=discrete, lines=lines)
        rows = [{"epoch": round(e, 3), "set": s, "loss": round(v, 5)} for e, a, b in state.history
                for s, v in (("train", a), ("test", b))]
    left, right = st.columns([1.25, 1])
    left.image(net, width="stretch")
    with left:
        verdict_ui(state)
        weight_ui(state)
    with right:
        train, test = state.history[-1][1:] if state.history else (float("nan"),) * 2
        m = st.columns([0.8, 1, 1])
        m[0].metric("Epoch", f"{state.epoch:,}")
        m[1].metric("Training loss", f"{train:.3f}")
        m[2].metric("Test loss", f"{test:.3f}")
        st.image(heat, width="stretch")
        spec = {**LOSS_SPEC, "encoding": {**LOSS_SPEC["encoding"], "x": {
            **LOSS_SPEC["encoding"]["x"], "scale": {"domain": [0, max([1] + [r["epoch"] for r in rows])]}}}}
        st.vega_lite_chart(pd.DataFrame(rows, columns=["epoch", "set", "loss"]), spec, width="stretch")
        st.toggle("Show test data", key=remember("pg_show_test", False))
        st.toggle("Discretise output", key=remember("pg_discrete", False))
        st.toggle("Half-planes of layer 1", key=remember("pg_planes", False), disabled=not plane_ok,
                  help="Each first-layer neuron's line w₁x₁ + w₂x₂ + b = 0; the tick points to where its z > 0. "
                       "Only with the inputs X₁ and X₂ alone and no batch norm: other features bend the lines.")


# the heat map, the loss curve and Play must fit above the fold at 1366×768: less space over the title,
# smaller numbers in the metrics
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem}"
        "[data-testid='stMain'] [data-testid='stMetricValue']{font-size:1.45rem}</style>")
title, predict = st.columns([3, 1], vertical_alignment="center")
title.markdown("#### Playground: a small network learns a 2-D pattern")
LOCKED = link_ui()
with predict:
    scenario_ui()
cfg = S.pg_cfg
changes = controls_ui(cfg)
side, middle, main = st.columns([0.9, 0.9, 4.1])
with side:
    changes |= data_ui(cfg)
with middle:
    changes |= features_ui(cfg)
with main:
    changes |= layers_ui()
try:
    cfg = cfg.changed(**changes)
    state = current_state(cfg)
    S.pg_cfg = cfg
    if S.setdefault("pg_planes_for", (cfg.data.dataset, cfg.features)) != (cfg.data.dataset, cfg.features):
        S.pg_planes = False  # the lines belong to the lesson they were switched on for, not to later data
        S.pg_planes_for = (cfg.data.dataset, cfg.features)
except ValueError as e:
    st.error(plain(e))
    S.pg_playing = False
    st.stop()
if state.epoch == 0 and not state.history:
    step(state, 0)  # records the starting losses for the numbers and the curve
with main:
    if S.get("pg_from_link"):
        st.caption("The network starts from the weights in the link, not random ones: its boundary is on show "
                   "before any training. Reset draws random weights.")
    live()
with side:
    share_ui(cfg)
