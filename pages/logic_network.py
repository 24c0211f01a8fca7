"""XOR logic network: a boolean expression as a one-hidden-layer threshold network, with every
weight, its diagram, the truth table checked row by row, and a sigmoid network that learns it."""
from pathlib import Path

import streamlit as st

from nets.calculators import boolean_expression as boolean
from nets.calculators import logic_network as logic
from nets.calculators import logic_training as logic_train
from nets.playground import link as playground_link
from nets.playground import threshold
from nets.text import plain
from pages._common import ensure_app_entry

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "logic_network.md"
LOSS_SPEC = {"mark": {"type": "line"}, "height": 220,
             "encoding": {"x": {"field": "epoch", "type": "quantitative"},
                          "y": {"field": "loss", "type": "quantitative", "title": "cross-entropy"}}}


def expression_ui() -> str:
    st.session_state.setdefault("logic_expr", logic.COURSEWORK_TEXT)
    text = st.text_input("Boolean expression", key="logic_expr", max_chars=boolean.MAX_CHARS,
                         help="Operators: ¬ ~ ! not, ∧ & and, ⊕ ^ xor, ∨ | or (that order of binding); "
                              "parentheses; up to six variables.")
    st.caption("Type e.g. `P xor Q`, `(a & b) | ~c`, or `not (P and Q) or R`. "
               "Binding, tightest first: not, and, xor, or.")
    return text


def network_ui(choices: list[logic.ThresholdNetwork]) -> logic.ThresholdNetwork:
    labels = [n.label for n in choices]
    picked = st.radio("Network", labels, key="logic_network", horizontal=True)
    return choices[labels.index(picked)] if picked in labels else choices[0]


def draw_expansion(expr: boolean.Expression, net: logic.ThresholdNetwork):
    st.latex("y = " + expr.latex())
    if net.name == logic.HAND_NAME:
        st.subheader("The expansion, by hand")
        for formula, why in logic.COURSEWORK_EXPANSION:
            left, right = st.columns([3, 2], vertical_alignment="center")
            left.latex(formula)
            right.caption(why)
    else:
        st.subheader("The cases the hidden units detect")
    cases, output = logic.formula_latex(net)
    st.latex(cases)
    st.latex(output)


def draw_network(expr: boolean.Expression, net: logic.ThresholdNetwork):
    st.subheader("Every weight and bias")
    st.caption("Each hidden unit h_k = step(w·x + b) fires (1) when its case holds; the output unit ORs "
               "them with weight 1 each and bias −0.5. *rows* are the truth-table rows where it fires.")
    st.dataframe(logic.unit_table(net, expr))
    st.graphviz_chart(logic.dot(net))


def draw_verification(check: logic.Verification):
    st.subheader("The truth table, row by row")
    if check.all_agree:
        st.success(f"All {check.n_rows} rows agree: the network computes the expression.")
    else:
        st.error(f"Rows {', '.join(map(str, check.bad_rows))} disagree.")
    st.dataframe(check.table, height=min(35 * (check.n_rows + 1) + 3, 620))


def playground_ui(net: logic.ThresholdNetwork):
    """A two-variable network opens in the Playground on TF's XOR data, starting from these weights."""
    st.subheader("The same network on the Playground's plane")
    try:
        cfg, weights = threshold.playground_weights(net.W, net.b, net.c)
    except ValueError as e:
        st.caption(f"{plain(e)} Try `P xor Q`.")
        return
    st.page_link("pages/playground.py", label="Open this network in the Playground, on the XOR data", icon="🛝",
                 query_params=playground_link.params(cfg, weights=weights))
    st.caption(threshold.EXPLAIN + f" The first variable ({plain(net.variables[0])}) is x1, the second x2; switch on "
               "*Half-planes of layer 1* there to see each hidden unit's line.")


def training_ui(n_terms: int) -> tuple[tuple, bool]:
    """(hidden units, epochs, learning rate, seed) and whether Train was pressed."""
    with st.expander("Let gradient descent find the weights", expanded=False):
        a, b, c, d = st.columns(4)
        hidden = a.slider("Hidden sigmoid units", 1, logic_train.MAX_HIDDEN, logic_train.default_hidden(n_terms),
                          key="logic_hidden")
        epochs = b.select_slider("Epochs", [500, 1000, 2000, 4000], 2000, key="logic_epochs")
        lr = c.select_slider("Learning rate", [0.5, 1.0, 2.0, 4.0], 2.0, key="logic_lr")
        seed = d.number_input("Seed", 0, 10_000, 0, key="logic_seed")
        return (hidden, epochs, lr, seed), st.button("Train", key="logic_train")


def train(expr: boolean.Expression, settings: tuple) -> logic_train.TrainResult:
    """Inline: at most a second or two, with a progress bar."""
    hidden, epochs, lr, seed = settings
    bar = st.progress(0.0, "Training…")

    def show(epoch, loss):
        if epoch % 100 == 99:
            bar.progress((epoch + 1) / epochs, f"Epoch {epoch + 1}: loss {loss:.4f}")
    result = logic_train.train_sigmoid(expr, hidden, epochs, lr, seed, show)
    bar.empty()
    return result


def draw_training(expr: boolean.Expression, net: logic.ThresholdNetwork, result: logic_train.TrainResult):
    table = logic_train.learning_table(expr, net, result)
    right = logic_train.rows_right(table)
    (st.success if right == len(table) else st.warning)(
        f"The learned network gets {right} of {len(table)} rows right (output > 0.5 counts as 1); "
        f"final loss {result.losses[-1]:.4f}.")
    st.vega_lite_chart(logic_train.loss_curve(result), LOSS_SPEC, width="stretch")
    st.caption("Outputs at a few epochs, next to the hand-set network's y: watch them move towards 0 and 1.")
    st.dataframe(table)
    hand, learned = st.columns(2)
    hand.markdown(f"**Hand-set weights** (step units, output bias {net.c:g})")
    hand.dataframe(logic.unit_table(net, expr).drop(columns="rows"))
    learned.markdown(f"**Learned weights** (sigmoid units, output bias {result.b2:.2f})")
    learned.dataframe(logic_train.learned_units(expr, result))


st.title("🔀 XOR logic network")
with st.expander("How to read this page", expanded=False):
    st.markdown(LESSON.read_text())

text = expression_ui()
try:
    expr = boolean.parse(text)
except boolean.ExpressionError as e:
    st.error(plain(e))  # it quotes what was typed: shown as text
    st.code(e.caret, language=None)
    st.stop()
choices = logic.networks(expr)
net = network_ui(choices)
check = logic.verify(net, expr)

draw_expansion(expr, net)
draw_network(expr, net)
draw_verification(check)
playground_ui(net)
settings, clicked = training_ui(len(choices[0].b))
if clicked:   # the result is kept for these settings and this expression only
    st.session_state["logic_trained"] = (expr.text, settings), train(expr, settings)
done = st.session_state.get("logic_trained")
if done and done[0] == (expr.text, settings):
    draw_training(expr, net, done[1])
