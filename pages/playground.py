"""Playground: TensorFlow Playground on 2-D data, in PyTorch: pick data, features and a network, press Play."""
from __future__ import annotations

import streamlit as st

from nets.playground import model as pmodel
from nets.playground import edges, halfplanes, link, scenarios, verdict
from nets.playground.state import PlaygroundConfig, new_state, set_learning_rate
from nets.playground.train import edit_weight, epoch_batches, record, step
from nets.text import plain
from pages._common import ensure_app_entry
from pages._link import link_ui, problems_ui
from pages._playground_live import live_panel
from pages._playground_form import load_controls, place_ui, remember

ensure_app_entry()

S = st.session_state
S.setdefault("pg_cfg", PlaygroundConfig())
S.setdefault("pg_init", 0)
S.setdefault("pg_playing", False)
S.setdefault("pg_hidden", S.pg_cfg.net.hidden)  # the layer boxes' sizes: ➕ and ➖ change it in callbacks


def load(cfg: PlaygroundConfig) -> None:
    """Set every control to `cfg` (a link or a scenario was opened), and build a new network."""
    S.pg_cfg = cfg
    S.pop("pg_state", None)
    load_controls(cfg)


def opened(got: link.PlaygroundLink) -> None:
    """A new link: its settings in the controls; the first network built from it starts from its weights."""
    load(got.cfg)
    S.pg_start = got.weights


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
            st.caption(f"Then press ▶ Play: it stops after {scenarios.EPOCHS} epochs, and the page says what happened and why.")


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
        edit_weight(state, weight, S.pg_w_new)
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
        st.multiselect("Controls to lock", link.TABLE.lockable, key="pg_share_hide")
        state = S.get("pg_state")
        why = link.weights_problem(cfg, pmodel.flat_weights(state.model)) if state is not None else "no network yet"
        with_weights = st.checkbox("with the current weights", key="pg_share_weights", disabled=why is not None,
                                   help=f"Not now: {why}." if why else
                                   "The network opens as it is now (pause first to share a fixed point), not random.")
        weights = pmodel.flat_weights(state.model) if with_weights and why is None else None
        st.code(link.encode(cfg, set(S.pg_share_hide), st.context.url, weights), language=None, wrap_lines=True,
                height=220 if weights else "content")  # a hundred numbers in this narrow column: scroll, copy button
        st.caption("Whoever opens this link gets this page with these settings; locked controls are greyed out.")


def bar_ui(values: dict, locked: frozenset[str]) -> None:
    """Play, Step and Reset, then the training settings beside them."""
    c = st.columns([0.8, 0.7, 0.7, 1.1, 1, 1, 1, 1.2])
    playing = S.pg_playing
    if c[0].button("⏸ Pause" if playing else "▶ Play", type="primary", width="stretch"):
        S.pg_playing = not playing
        st.rerun()  # the panel learns at once: Play or Pause
    if c[1].button("Step", width="stretch", help="One epoch") and "pg_state" in S:
        S.pg_playing = False  # one click, one epoch, from the network the browser handed back
        step(S.pg_state, epoch_batches(S.pg_state))
    if c[2].button("Reset", width="stretch", help="New random weights, epoch 0"):
        S.pg_init += 1
        S.pop("pg_state", None)
    place_ui("bar", values, locked, c[3:])


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


@st.fragment
def live():
    """The live panel (trained and drawn in the browser: pages/_playground_live.py), then what the server adds."""
    state = S.pg_state
    plane_ok = bool(state.cfg.net.hidden) and not state.cfg.net.batch_norm and state.cfg.features == halfplanes.PLANE
    scenario = scenarios.BY_KEY.get(S.get("pg_scenario"))  # its epochs, each recorded, then the verdict
    stop_at = scenarios.EPOCHS if scenario and state.epochs_done() < scenarios.EPOCHS else None
    live_panel(state, S.pg_playing, S.setdefault("pg_discrete", False), S.setdefault("pg_show_test", False),
               S.setdefault("pg_planes", False) and plane_ok, stop_at)
    left, right = st.columns([1.25, 1])
    with left:
        verdict_ui(state)
        weight_ui(state)
    with right:
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
opened_link = link_ui("pg_link", link.decode, opened)  # a link (?lesson=1&dataset=…&hide=…): once per session
problems_ui(opened_link)
locked = frozenset(opened_link.get("pinned", ()))  # the controls it locks stay locked
with predict:
    scenario_ui()
cfg = S.pg_cfg
values = link.flat(cfg)  # every control's value, as the widgets below show it
bar_ui(values, locked)
side, middle, main = st.columns([0.9, 0.9, 4.1])
with side:
    st.markdown("**Data**")
    place_ui("data", values, locked)
with middle:
    st.markdown("**Features**")
    place_ui("features", values, locked)
with main:
    place_ui("layers", values, locked)
try:
    cfg = cfg.changed(**values)
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
