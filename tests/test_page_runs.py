import json

import pagetools
import pytest
from pagetools import tiny_run
from streamlit.testing.v1 import AppTest

from nets.config import TrainConfig
from nets.runs import create_run, get_run


def train(ckpt, name, **changes):
    return tiny_run(ckpt, name, **changes)


def open_page(ckpt, monkeypatch, state=None):
    return pagetools.open_page("pages/runs.py", ckpt, monkeypatch, state)


def button(at, label):
    (b,) = [b for b in at.button if b.label == label]
    return b


def texts(elements):
    return " ".join(e.value for e in elements)


def test_a_run_appears_with_curves_and_its_matrix(ckpt, monkeypatch):
    run_id = train(ckpt, "tiny mlp")
    at = open_page(ckpt, monkeypatch)
    table = at.dataframe[0].value
    assert table["name"].tolist() == ["tiny mlp"] and table["id"].tolist() == [run_id]
    assert table["test accuracy"][0] == pytest.approx(get_run(ckpt, run_id).info["test"]["accuracy"])
    assert at.session_state["selected_run"] == run_id  # the newest run is selected by default
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(specs) == 3 and sum('"cell"' in s for s in specs) == 1  # 2 curves, 1 clickable matrix
    assert "best class" in texts(at.caption) and "worst class" in texts(at.caption)


def test_two_selected_runs_show_their_difference(ckpt, monkeypatch):
    a = train(ckpt, "sgd run")
    b = train(ckpt, "adam run", optimizer="adam", lr=0.01)
    at = open_page(ckpt, monkeypatch, {"runs_table_0": {"selection": {"rows": [0, 1]}}})
    assert len([s for s in at.subheader if s.value.startswith("From ")]) == 1
    summary = texts(at.markdown)
    assert "better than" in summary or "worse than" in summary or "equally" in summary
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert sum('"cell"' in s for s in specs) == 3  # two matrices and their difference
    assert any('"strokeDash"' in s for s in specs)  # curves of several runs: colour by run, dash by split
    captions = texts(at.caption)
    assert "A = adam run, B = sgd run" in captions and captions.count("best class") == 2
    assert set(at.dataframe[0].value["id"]) == {a, b}


def test_rename(ckpt, monkeypatch):
    run_id = train(ckpt, "old name")
    at = open_page(ckpt, monkeypatch)
    at.text_input(key=f"rename_{run_id}").input("  new name ")
    button(at, "Rename").click().run()
    assert not at.exception
    assert at.dataframe[0].value["name"].tolist() == ["new name"]
    assert "Renamed" in texts(at.success)
    assert json.loads((ckpt / run_id / "run.json").read_text())["name"] == "new name"
    at.text_input(key=f"rename_{run_id}").input("   ")
    button(at, "Rename").click().run()
    assert "1 to 100 characters" in texts(at.error) and not at.exception


def test_delete_needs_confirmation(ckpt, monkeypatch):
    keep = train(ckpt, "keep me")
    gone = train(ckpt, "delete me")  # newest: selected by default
    at = open_page(ckpt, monkeypatch)
    button(at, "Delete…").click().run()
    assert (ckpt / gone).is_dir() and "for good" in texts(at.warning)
    button(at, "Cancel").click().run()
    assert (ckpt / gone).is_dir() and not [b for b in at.button if b.label == "Yes, delete"]
    button(at, "Delete…").click().run()
    button(at, "Yes, delete").click().run()
    assert not at.exception
    assert not (ckpt / gone).exists()
    assert at.dataframe[0].value["id"].tolist() == [keep]
    assert "Deleted" in texts(at.success)


def test_problem_folders_warn_and_runs_without_model_explain(ckpt, monkeypatch):
    (ckpt / "broken").mkdir()
    (ckpt / "broken" / "run.json").write_text("{not json")
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), name="diverged")
    create_run(ckpt, cfg, {"classes": [str(i) for i in range(10)], "input_shape": [1, 28, 28],
                           "num_classes": 10})
    at = open_page(ckpt, monkeypatch)
    assert "broken" in texts(at.warning) and "corrupt" in texts(at.warning)
    assert at.dataframe[0].value["name"].tolist() == ["diverged"]
    assert "no saved model" in texts(at.info)


def test_missing_dataset_is_an_error_message(ckpt, monkeypatch, tmp_path):
    run_id = train(ckpt, "from a folder")
    path = ckpt / run_id / "run.json"
    info = json.loads(path.read_text())
    info["config"].update(dataset="folder", folder=str(tmp_path / "no-such-folder"))
    path.write_text(json.dumps(info))
    at = open_page(ckpt, monkeypatch)
    assert "does not exist" in texts(at.error)


def test_lecturer_clean_up_needs_confirmation(tmp_path, monkeypatch):
    from nets.runs import update_run
    ckpt = tmp_path / "ck"
    keep, gone = train(ckpt, "keep"), train(ckpt, "gone")
    update_run(get_run(ckpt, gone), status="interrupted")
    at = open_page(ckpt, monkeypatch)
    next(b for b in at.button if b.label.startswith("Remove 1 unfinished run")).click().run()
    assert any("Delete 1 run(s)" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Yes, delete them").click().run()
    assert not at.exception and any("Removed 1 run(s)" in s.value for s in at.success)
    assert [p.name for p in ckpt.iterdir()] == [keep]


def test_a_student_sees_and_changes_only_what_the_rules_allow(tmp_path, monkeypatch):
    from nets.runs import update_run
    ckpt = tmp_path / "ck"
    own, other, shared = (tiny_run(ckpt, n) for n in ("mine", "bobs", "shared by lecturer"))
    for run_id, owner in ((own, "name:alice"), (other, "name:bob"), (shared, "name:bob")):
        update_run(get_run(ckpt, run_id), owner=owner)
    update_run(get_run(ckpt, shared), shared=True)
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["lecturer_password"] = "letmein"
    at.session_state["identity"] = "name:alice"  # signed in with her name (nets.identity)
    at.session_state["selected_run"] = shared
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    names = set(at.dataframe[0].value["name"])
    assert {"mine", "shared by lecturer"} <= names and "bobs" not in names
    assert any("Only the student who trained this run" in c.value for c in at.caption)  # the shared run
    assert not any(b.label == "Rename" for b in at.button)
    assert not any("clean up" in e.label for e in at.expander)

    at.sidebar.text_input(key="lecturer_try").set_value("letmein").run()  # unlock lecturer mode
    assert "bobs" in set(at.dataframe[0].value["name"])
    assert any(b.label == "Rename" for b in at.button) and any(t.label == "Shared with the class" for t in at.toggle)


# ----------------------------------------------------------------------------- four runs, counts, a click
def four_runs(ckpt):
    """Two cross-entropy and two squared-error runs with long names, newest last."""
    return [train(ckpt, f"mlp-mnist-mini-{opt}-{loss}-a-long-descriptive-run-name", optimizer=opt, loss=loss,
                  **({"lr": 0.01} if opt == "adam" else {}))
            for opt in ("sgd", "adam") for loss in ("ce", "mse")]


def matrices(at):
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if '"cell"' in c.proto.spec]


def click_cell(at, run_id, true_index, predicted_index):
    """What the browser sends when a cell of run_id's matrix is clicked (AppTest cannot click a chart)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    (chart,) = [c for c in at.get("vega_lite_chart") if c.proto.id.endswith(f"cm_{run_id}")]
    states = at._tree.get_widget_states()
    state = WidgetState(id=chart.proto.id, string_value=json.dumps(
        {"selection": {"cell": [{"true_index": true_index, "predicted_index": predicted_index}]}}))
    states.widgets.append(state)
    return at._run(states)


def test_four_runs_get_a_grid_of_matrices_and_a_loss_chart_per_loss_kind(ckpt, monkeypatch):
    ids = four_runs(ckpt)
    at = open_page(ckpt, monkeypatch, {"runs_table_0": {"selection": {"rows": [0, 1, 2, 3]}}})
    assert set(at.dataframe[0].value["id"]) == set(ids)
    assert len(matrices(at)) == 4 and not [s for s in at.subheader if s.value.startswith("From ")]
    curves = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if '"epoch"' in c.proto.spec]
    titles = sorted(str(c["title"]) for c in curves)
    assert titles == ["Test accuracy by epoch", "Train and test loss by epoch: cross-entropy",
                      "Train and test loss by epoch: squared error"]
    assert all(c["height"] >= 300 for c in curves)
    assert "different quantities" in texts(at.caption)
    names = " ".join(m.value for m in at.markdown)
    assert names.count("a-long-descriptive-run-name") == 4  # full names above the matrices
    assert texts(at.caption).count("best class") == 4


def color_scales(spec):
    return [layer["encoding"]["color"] for layer in spec["layer"] if "field" in layer["encoding"]["color"]]


def test_counts_toggle_draws_counts(ckpt, monkeypatch):
    train(ckpt, "tiny")
    at = open_page(ckpt, monkeypatch)
    ((fractions,),) = [color_scales(m) for m in matrices(at)]
    assert fractions["scale"]["domain"] == [0, 1] and fractions["legend"]["format"] == ".0%"
    at.toggle(key="runs_normalised").set_value(False).run()
    assert not at.exception  # this once raised "'None' is an invalid value for 'domain'"
    ((counts,),) = [color_scales(m) for m in matrices(at)]
    low, high = counts["scale"]["domain"]
    assert low == 0 and high > 1 and float(high).is_integer() and counts["legend"]["format"] == "d"
    assert "best class" in texts(at.caption)
    at.toggle(key="runs_normalised").set_value(True).run()
    assert not at.exception and color_scales(matrices(at)[0])[0]["scale"]["domain"] == [0, 1]


def test_clicking_a_cell_shows_its_images_in_one_grid(ckpt, monkeypatch):
    run_id = train(ckpt, "tiny")
    at = open_page(ckpt, monkeypatch)
    at = click_cell(at, run_id, 0, 0)
    assert not at.exception
    (image,) = at.get("image")
    assert len(image.proto.imgs) == 1  # one picture holding the grid
    assert "test image(s) of class 0 correctly classified" in texts(at.caption)
    assert "Click a cell" not in texts(at.caption)
