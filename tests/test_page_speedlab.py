"""The Speed lab page under AppTest (jobs in threads): a tiny recipe runs and lands in the table; measuring a
chosen trick runs the full recipe and a run with it off, compared in the table."""
from pagetools import rerun_until
from streamlit.testing.v1 import AppTest

from nets.runs import list_runs

PAGE = "pages/speed_lab.py"


def opened(ckpt, monkeypatch) -> AppTest:
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    at.number_input(key="sl_epochs_airbench94-mini").set_value(1).run()
    at.number_input(key="sl_subset_airbench94-mini").set_value(10).run()  # 100 images: the flow, not the recipe
    return at


def button(at, key):
    return next(b for b in at.button if b.key == key)


def test_run_then_measure_a_trick(ckpt, service, monkeypatch):
    at = opened(ckpt, monkeypatch)
    assert at.selectbox(key="sl_preset").value == "airbench94-mini"  # bundled: works offline
    button(at, "sl_run").click().run()
    rerun_until(at, lambda a: bool(a.table))
    table = at.table[0].value.reset_index()
    assert list(table["recipe"]) == ["full recipe"] and table["size"][0] == "1 epoch · 10 a class"
    at.multiselect(key="sl_measure").set_value(["tta"]).run()
    button(at, "sl_measure_go").click().run()
    rerun_until(at, lambda a: a.table and len(a.table[0].value) == 3)
    table = at.table[0].value.reset_index()
    assert sorted(table["recipe"]) == ["full recipe", "full recipe", "without test-time augmentation"]
    assert sorted(r.config.tta for r in list_runs(ckpt)[0]) == [0, 2, 2]
    assert all(v.startswith(("+", "-")) for v in table["Δ accuracy (points)"]) and not at.exception
