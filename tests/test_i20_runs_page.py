"""Issue 20, item 6: the Runs page's words and values (AppTest). Each test failed before the change."""
import pytest
from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig
from nets.runs import create_run, get_run
from nets.runs.table import MISSING, short_name
from nets.text import shown

PRESET = "lenet · mnist-mini · a long preset name that fills the column · "


def saved(ckpt, run_id, status="completed", **info) -> str:
    """A run record without weights (the table reads the index; no training needed)."""
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), name=info.pop("name", run_id))
    return create_run(ckpt, cfg, {"status": status, **info}, run_id=run_id).id


def texts(elements):
    return " ".join(shown(e.value) for e in elements)


def page(ckpt, monkeypatch, state=None, secrets=None):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    for k, v in (secrets or {}).items():
        at.secrets[k] = v
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    return at


def test_a_running_run_says_it_is_training_not_that_it_ended(ckpt, monkeypatch):
    saved(ckpt, "still-training", status="running")
    at = page(ckpt, monkeypatch)
    info = texts(at.info)
    assert "training, no model saved yet" in info.lower()
    assert "ended before its first epoch" not in info


def test_a_run_that_ended_without_a_model_still_says_so(ckpt, monkeypatch):
    saved(ckpt, "stopped-early", status="stopped")
    at = page(ckpt, monkeypatch)
    assert "ended before its first epoch finished" in texts(at.info)


def test_missing_numbers_read_as_a_dash_not_none(ckpt, monkeypatch):
    saved(ckpt, "no-accuracy-yet", status="running")
    at = page(ckpt, monkeypatch)
    table = at.dataframe[0]
    assert table.value["test accuracy"].isna().all()  # the value stays missing (sorts last) ...
    assert table.proto.placeholder == MISSING == "—"  # ... and the browser draws it as "—", not "None"


def test_long_names_keep_the_end_that_tells_runs_apart(ckpt, monkeypatch):
    a = saved(ckpt, "run-a", name=PRESET + "sgd lr 0.01 · cross-entropy #5")
    b = saved(ckpt, "run-b", name=PRESET + "adam lr 0.01 · squared error #6")
    at = page(ckpt, monkeypatch)
    shown_names = dict(zip(at.dataframe[0].value["id"], at.dataframe[0].value["name"]))
    assert shown_names[a].endswith("sgd lr 0.01 · cross-entropy #5")
    assert shown_names[b].endswith("adam lr 0.01 · squared error #6")
    assert shown_names[a].startswith("lenet · mnist-mini") and "…" in shown_names[a]
    assert at.dataframe[0].proto.column_order[:4] == ["name", "starred", "test accuracy", "status"]


def test_short_name_keeps_both_ends_and_leaves_short_names_alone():
    assert short_name("tiny mlp") == "tiny mlp"
    long = "a" * 30 + "MIDDLE" + "b" * 30 + " #12"
    s = short_name(long, 40)
    assert len(s) == 40 and s.startswith("a") and s.endswith("b #12") and "…" in s and "MIDDLE" not in s


def test_a_rename_does_not_let_the_search_hide_the_run(ckpt, monkeypatch):
    run_id = saved(ckpt, "run-1", name="adam lr 0.01")  # the search matches its name, not its id
    saved(ckpt, "run-2", name="sgd lr 0.1")
    at = page(ckpt, monkeypatch)
    at.text_input(key="runs_text").input("adam").run()
    assert at.dataframe[0].value["id"].tolist() == [run_id]
    at.text_input(key=f"rename_{run_id}").input("best model so far")
    (rename,) = [b for b in at.button if b.label == "Rename"]
    rename.click().run()
    assert not at.exception
    assert run_id in at.dataframe[0].value["id"].tolist()  # still in view (the search would have hidden it)
    assert at.text_input(key="runs_text").value == ""
    assert "no longer matched it, so it was cleared" in texts(at.success)
    assert get_run(ckpt, run_id).name == "best model so far"


def test_a_rename_that_still_matches_keeps_the_search(ckpt, monkeypatch):
    run_id = saved(ckpt, "adam-run", name="adam lr 0.01")
    at = page(ckpt, monkeypatch)
    at.text_input(key="runs_text").input("adam").run()
    at.text_input(key=f"rename_{run_id}").input("adam lr 0.01 (kept)")
    (rename,) = [b for b in at.button if b.label == "Rename"]
    rename.click().run()
    assert at.text_input(key="runs_text").value == "adam" and "cleared" not in texts(at.success)


@pytest.mark.parametrize("lecturer_tab", ["", "anon:" + "c" * 32])
def test_the_lecturer_sees_owners_never_this_tab_for_someone_else(ckpt, monkeypatch, lecturer_tab):
    saved(ckpt, "alice-run", owner="name:alice", created="2026-01-01 10:00:00")
    saved(ckpt, "tab-run", owner="anon:" + "a" * 32, created="2026-01-01 11:00:00")
    saved(ckpt, "lecturer-run", owner="lecturer", created="2026-01-01 12:00:00")
    at = page(ckpt, monkeypatch, {"identity": lecturer_tab, "lecturer": True},
              secrets={"lecturer_password": "a long enough password"})
    owners = dict(zip(at.dataframe[0].value["id"], at.dataframe[0].value["owner"]))
    assert owners == {"alice-run": "alice", "tab-run": "a tab without a name", "lecturer-run": "the lecturer"}


def test_owner_label_says_this_tab_only_for_the_viewers_own_tab():
    from nets.server.identity import owner_label
    tab = "anon:" + "d" * 32
    assert owner_label(tab, tab) == "this tab"
    assert owner_label(tab, "lecturer") == "a tab without a name" and owner_label(tab, "") == "a tab without a name"
    assert owner_label("name:alice", "lecturer") == "alice" and owner_label("", "lecturer") == ""
