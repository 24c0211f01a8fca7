"""The learning-rate finder's panel (pages/_lrfind.py) under AppTest, through the server's job service: a search
shows its curve, suggestions and words, "Use" fills the Train form's learning rate, Stop ends it, and a
locked rate or a configuration with a problem starts or fills nothing."""
from pagetools import rerun_until
from streamlit.testing.v1 import AppTest


def finder_app(problem=None, locked=None, hidden=(16,), batch_size=64):
    """The Train page's two calls on their own: the button under a learning-rate box, then the panel."""
    import streamlit as st

    from nets.engine.config import TrainConfig
    from pages._lrfind import lrfind_button, lrfind_ui
    from pages._train_state import TRAIN_CFG_KEY, TRAIN_WIDGET_PREFIX

    if TRAIN_CFG_KEY not in st.session_state:
        st.session_state[TRAIN_CFG_KEY] = TrainConfig(dataset="mnist-mini", model="mlp", hidden=hidden,
                                                      batch_size=batch_size, lr=0.5).to_dict()
    cfg = TrainConfig.from_dict(st.session_state[TRAIN_CFG_KEY])
    st.session_state.setdefault(TRAIN_WIDGET_PREFIX + "lr", cfg.lr)
    lr = st.number_input("Learning rate", key=TRAIN_WIDGET_PREFIX + "lr", format="%g")
    lrfind_button()
    lrfind_ui(TrainConfig.from_dict({**cfg.to_dict(), "lr": lr}), problem, locked)


def opened(**kwargs) -> AppTest:
    at = AppTest.from_function(finder_app, kwargs=kwargs, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def has(at, label) -> bool:
    return any(b.label.startswith(label) for b in at.button)


def test_find_shows_the_curve_and_use_fills_the_learning_rate(service):
    at = opened()
    assert not at.get("vega_lite_chart")  # no panel before a search
    button(at, "🔎 Find a learning rate").click().run()
    rerun_until(at, lambda a: has(a, "Use "))
    assert at.get("vega_lite_chart") and not at.error
    title = at.markdown[0].value
    assert "Learning-rate finder" in title and "steps in" in title
    words = [m.value for m in at.markdown if "loss" in m.value.lower() or "rate" in m.value.lower()][1:]
    assert words and ("falls" in words[0] or "No rate" in words[0])
    use = button(at, "Use ")
    rate = float(use.label.split()[1])
    use.click().run()
    from pages._train_state import TRAIN_CFG_KEY
    assert at.session_state[TRAIN_CFG_KEY]["lr"] == rate and at.number_input[0].value == rate
    assert any("holds" in c.value for c in at.caption)
    button(at, "Close").click().run()
    assert not at.get("vega_lite_chart") and not has(at, "Use ")


def test_stop_ends_a_search_part_way(service):
    at = opened(hidden=(2048, 2048), batch_size=512)  # about 0.4 s a step here
    button(at, "🔎 Find a learning rate").click().run()
    rerun_until(at, lambda a: a.get("vega_lite_chart") and has(a, "Stop"))
    first = at.session_state["lrfind_job"]
    button(at, "🔎 Find a learning rate").click().run()  # again while it runs: a new search replaces it
    assert not at.error and at.session_state["lrfind_job"] != first
    assert service.view(first).status == "stopped"
    rerun_until(at, lambda a: a.get("vega_lite_chart") and has(a, "Stop"))
    button(at, "Stop").click().run()
    rerun_until(at, lambda a: has(a, "Close"))
    assert "stopped by you" in at.markdown[0].value or "stopped" in at.markdown[0].value


def test_a_locked_rate_is_not_filled_and_a_problem_starts_nothing(service):
    at = opened(locked="four")
    button(at, "🔎 Find a learning rate").click().run()
    rerun_until(at, lambda a: has(a, "Use "))
    assert button(at, "Use ").disabled
    at = opened(problem="the number of epochs must be from 1 to 10,000")
    button(at, "🔎 Find a learning rate").click().run()
    assert at.error and "Fix the settings first" in at.error[0].value and not at.get("vega_lite_chart")
    assert [v.kind for v in service.views()] == ["lrfind"]  # the locked one's search only


def test_the_chart_drops_nan_and_inf_keeps_the_full_range_and_labels_each_rule():
    import json
    import math

    from nets.charts.lrfind import RAW, lrfind_chart, points_frame, rules_frame
    lrs = [1e-7 * 10 ** (i / 10) for i in range(40)]  # to 1e-3.1: the x-axis still runs to 10
    losses = [2.3 - 0.01 * i for i in range(38)] + [math.inf, math.nan]
    smooth = [2.3 - 0.009 * i for i in range(39)] + [math.nan]
    frame = points_frame(lrs, losses, smooth)
    assert len(frame[frame.series == RAW]) == 38 and frame["loss"].map(math.isfinite).all()
    s = {"valley": 1e-4, "slide": 3e-4, "minimum": 2e-5, "steep": None}
    marks = rules_frame(s, best=1e-4)
    assert list(marks["rule"]) == ["valley", "slide", "minimum"] and marks["row_px"].is_unique
    assert marks.loc[0, "label"] == "valley 1e-4 ◀ use" and marks.loc[0, "width"] > marks.loc[1, "width"]
    spec = json.dumps(lrfind_chart(lrs, losses, smooth, s, (2e-5, 3e-4), 1e-4).to_dict(), allow_nan=False)
    assert '"domain": [1e-07, 10.0]' in spec and "slide 3e-4" in spec
