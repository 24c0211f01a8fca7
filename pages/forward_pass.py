"""Forward-pass calculator: z = Wx + b and a = f(z) for every layer, then the softmax, with the
student's numbers; the symbolic argument for a uniform output; a predict-then-reveal quiz."""
from pathlib import Path

import streamlit as st

from nets.calculators import forward_pass as fw
from nets.calculators import forward_quiz as fq
from nets.text import plain
from pages._common import ensure_app_entry
from pages._widgets import quiz

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "forward_pass.md"
NUMBER = st.column_config.NumberColumn(format="%.4g")
# Widget defaults go through session state only (never a widget's value=), so that "Back to the
# coursework's network" can set them without Streamlit's default-versus-state warning.
DEFAULTS = {"fw_inputs": fw.COURSEWORK.n_inputs, "fw_hidden": len(fw.COURSEWORK.hidden),
            "fw_classes": fw.COURSEWORK.n_classes, "fw_w": 1.0, "fw_b": 0.0}
DEFAULTS.update({f"fw_units_{l}": u for l, (u, _) in enumerate(fw.COURSEWORK.hidden)})
DEFAULTS.update({f"fw_act_{l}": a for l, (_, a) in enumerate(fw.COURSEWORK.hidden)})


# ---------------------------------------------------------------------------------------- state
# The weights live in "fw_base"; each table's edits live in its editor, whose key carries
# "fw_version", so replacing the base (a button, a new shape) starts fresh editors.
def _set_base(layers):
    st.session_state["fw_base"] = layers
    st.session_state["fw_version"] = st.session_state.get("fw_version", 0) + 1


def _fill(what: str):
    base = st.session_state["fw_base"]
    if what == "w":
        _set_base(fw.fill(base, w=st.session_state["fw_w"]))
    elif what == "b":
        _set_base(fw.fill(base, b=st.session_state["fw_b"]))
    else:
        st.session_state["fw_seed"] = st.session_state.get("fw_seed", 0) + 1
        _set_base(fw.random_network(_arch_from_state(), st.session_state["fw_seed"]))


def _coursework():
    st.session_state.update(DEFAULTS, fw_x=fw.default_x(fw.COURSEWORK.n_inputs))
    _set_base(fw.constant_network(fw.COURSEWORK))


def _inputs_changed():
    st.session_state["fw_x"] = fw.default_x(st.session_state["fw_inputs"])


def _arch_from_state() -> fw.Architecture:
    s = st.session_state
    hidden = tuple((s.get(f"fw_units_{l}", 3), s.get(f"fw_act_{l}", "sigmoid")) for l in range(s["fw_hidden"]))
    return fw.Architecture(s["fw_inputs"], hidden, s["fw_classes"])


# ---------------------------------------------------------------------------------------- widgets
def architecture_ui() -> fw.Architecture:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    a, b, c = st.columns(3)
    a.number_input("Inputs", 1, 6, key="fw_inputs", on_change=_inputs_changed)
    b.number_input("Hidden layers", 0, 4, key="fw_hidden")
    c.number_input("Softmax outputs (classes)", 2, 6, key="fw_classes")
    n_hidden = st.session_state["fw_hidden"]
    for l, col in enumerate(st.columns(n_hidden) if n_hidden else []):
        st.session_state.setdefault(f"fw_units_{l}", 3)
        col.number_input(f"Units in layer {l + 1}", 1, 6, key=f"fw_units_{l}")
        col.selectbox(f"Activation of layer {l + 1}", fw.ACTIVATION_CHOICES, key=f"fw_act_{l}")
    return _arch_from_state()


def weights_ui(arch: fw.Architecture) -> list:
    """One editable table per layer (rows: units; columns: the inputs' weights, then b)."""
    base = st.session_state.get("fw_base")
    if not fw.fits(base, arch):
        _set_base(fw.constant_network(arch, st.session_state["fw_w"], st.session_state["fw_b"]))
        base = st.session_state["fw_base"]
    a, b, c, d, e = st.columns([1, 1.2, 1, 1.2, 1.6], vertical_alignment="bottom")
    a.number_input("w", step=0.5, key="fw_w")
    b.button("All weights = w", key="fw_set_w", on_click=_fill, args=("w",), width="stretch")
    c.number_input("b", step=0.5, key="fw_b")
    d.button("All biases = b", key="fw_set_b", on_click=_fill, args=("b",), width="stretch")
    e.button("Random weights (halves)", key="fw_random", on_click=_fill, args=("random",), width="stretch")
    version, tables = st.session_state["fw_version"], []
    for l, (col, layer, (_, _, act)) in enumerate(zip(st.columns(len(base)), base, arch.shapes()), 1):
        name = fw.layer_name(l, len(base), act)  # the chosen activation: the base may predate the choice
        col.markdown(f"**{name.capitalize()}**: $W^{{({l})}}$ and $b^{{({l})}}$")
        df = fw.layer_table(layer, l)
        tables.append(col.data_editor(df, key=f"fw_edit_{l}_{version}",
                                      column_config={c: NUMBER for c in df.columns}))
    st.button("Back to the coursework's network", key="fw_reset", on_click=_coursework)
    return tables


def x_ui(n: int) -> str:
    st.session_state.setdefault("fw_x", fw.default_x(n))
    return st.text_input("Input x (numbers separated by commas; fractions such as 1/2 work)", key="fw_x")


# ---------------------------------------------------------------------------------------- quiz
def _question_id(q: fq.Quantity) -> str:
    return f"{q.label}={q.value:.12g}"


def quiz_ui(steps) -> bool:
    """The quiz, when switched on; True when the worked steps may be shown."""
    if not st.toggle("Quiz: predict, then reveal", key="fw_quiz"):
        return True
    qs = fq.quantities(steps)
    labels = [q.label for q in qs]
    q = qs[labels.index(st.selectbox("Work out", labels, index=1, key="fw_q"))]
    st.markdown(f"What is ${q.latex}$ for this network and this x?")
    state = quiz("fw", _question_id(q), lambda answer: fq.check_answer(q, answer, qs), "e.g. 0.95 or 1/3")
    if state.revealed:
        st.info(f"${q.latex} = {fw.num(q.value)}$; the steps below show where it comes from.")
        return True
    if state.right:
        return True
    st.caption("The worked steps stay hidden until you check a right answer or reveal it.")
    return False


# ---------------------------------------------------------------------------------------- drawing
def draw_steps(net, steps):
    for l, (layer, step) in enumerate(zip(net, steps), 1):
        last = l == len(net)
        st.subheader(fw.layer_name(l, len(net), layer.activation).capitalize())
        st.latex(fw.latex_linear(l, layer, step))
        with st.expander("Unit by unit"):
            st.latex(fw.latex_units(l, layer, step))
        st.latex(fw.latex_softmax(step) if last else fw.latex_activation(l, layer, step))
        st.dataframe(fw.step_table(step, last), column_config={c: NUMBER for c in "zap"})


def draw_uniform(argument, x, p):
    st.subheader("Why every class gets " + argument.value)
    for line in argument.lines:
        st.markdown(line)
    st.success(f"With your x = {fw.vector_text(x)}: p = {fw.vector_text(p)}, {argument.value} each, "
               "as the argument says. Type any other x to try it.")


st.title("➡️ Forward-pass calculator")
with st.expander("How to read this page", expanded=False):
    st.markdown(LESSON.read_text())

arch = architecture_ui()
tables = weights_ui(arch)
x_text = x_ui(arch.n_inputs)
try:
    net = fw.network_from_tables(tables, arch)
    x = fw.parse_vector(x_text, arch.n_inputs)
    steps = fw.forward(net, x)
except fw.ForwardError as e:
    st.error(plain(e))  # it may quote what was typed
    st.stop()
argument = fw.symbolic_uniform_explanation(net)

if quiz_ui(steps):
    draw_steps(net, steps)
    if argument:
        draw_uniform(argument, x, steps[-1].a)
    else:
        st.caption("Here the softmax is not forced to be uniform: no layer has identical units "
                   "(rows of W and biases all equal) with equal row sums in every layer after it.")
