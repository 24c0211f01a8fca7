import json

import pagetools
import pytest
from pagetools import tiny_run
from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig
from nets.runs import create_run, delete_run, get_run, index, update_run
from nets.runs.access import ADMIN
from nets.text import shown


def train(ckpt, name, **changes):
    return tiny_run(ckpt, name, **changes)


def open_page(ckpt, monkeypatch, state=None):
    return pagetools.open_page("pages/runs.py", ckpt, monkeypatch, state)


def button(at, label):
    (b,) = [b for b in at.button if b.label == label]
    return b


def texts(elements):
    """What the elements show: their Markdown with nets.text.plain's escapes removed."""
    return " ".join(shown(e.value) for e in elements)


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
    first, second = at.dataframe[0].value["name"]  # A is the upper row, B the lower
    assert f"A = {first}, B = {second}" in captions and captions.count("best class") == 2
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
    gone = train(ckpt, "delete me")
    at = open_page(ckpt, monkeypatch, {"selected_run": gone})  # the remembered run is selected
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


def test_unreadable_folders_are_left_out_and_runs_without_model_explain(ckpt, monkeypatch):
    (ckpt / "broken").mkdir()
    (ckpt / "broken" / "run.json").write_text("{not json")
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), name="diverged")
    create_run(ckpt, cfg, {"classes": [str(i) for i in range(10)], "input_shape": [1, 28, 28],
                           "num_classes": 10, "status": "diverged"})  # a running one says it trains (issue 20)
    at = open_page(ckpt, monkeypatch)
    assert at.dataframe[0].value["name"].tolist() == ["diverged"]  # the index has no row for "broken"
    assert "no saved model" in texts(at.info)


def test_missing_dataset_is_an_error_message(ckpt, monkeypatch, tmp_path):
    run_id = train(ckpt, "from a folder")
    path = ckpt / run_id / "run.json"
    info = json.loads(path.read_text())
    info["config"].update(dataset="folder", folder=str(tmp_path / "no-such-folder"))
    path.write_text(json.dumps(info))
    at = open_page(ckpt, monkeypatch)
    assert "best class" in texts(at.caption)  # the matrix comes from the stored evaluation
    at = click_cell(at, run_id, 0, 0)  # its images need the dataset
    shown = texts(at.error).replace("\\", "")  # errors are shown as text: Markdown characters escaped
    assert ("does not exist" in shown or "not inside the data folder" in shown) and not at.exception


def test_a_student_sees_and_changes_only_what_the_rules_allow(tmp_path, monkeypatch):
    ckpt = tmp_path / "ck"
    own, other, shared = (tiny_run(ckpt, n) for n in ("mine", "bobs", "shared by lecturer"))
    for run_id, owner in ((own, "name:alice"), (other, "name:bob"), (shared, "name:bob")):
        update_run(get_run(ckpt, run_id), owner=owner)
    update_run(get_run(ckpt, shared), shared=True)
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["lecturer_password"] = "letmein"
    at.session_state["identity"] = "name:alice"  # signed in with her name (nets.server.identity)
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
    names = texts(at.markdown)
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


# ----------------------------------------------------------------------------- the run store (issue 12)
def saved(ckpt, run_id, dataset="mnist-mini", **info) -> str:
    """A run record without training or weights: enough for the table, made in milliseconds."""
    cfg = TrainConfig(dataset=dataset, model="mlp", hidden=(16,), name=run_id)
    return create_run(ckpt, cfg, {"status": "completed", **info}, run_id=run_id).id


def names(at) -> list[str]:
    return at.dataframe[0].value["name"].tolist()


def as_student(ckpt, monkeypatch, who="name:alice", state=None):
    """A classroom server (a lecturer password) with `who` signed in."""
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["lecturer_password"] = "letmein"
    at.session_state["identity"] = who
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    return at


def class_runs(ckpt):
    saved(ckpt, "alice-mnist", owner="name:alice", created="2026-01-01 10:00:00")
    saved(ckpt, "bob-fashion", "fashion-mnist-mini", owner="name:bob", shared=True, created="2026-01-01 11:00:00")
    saved(ckpt, "bob-secret", owner="name:bob", status="failed", created="2026-01-01 12:00:00")


def test_filters_narrow_the_table(ckpt, monkeypatch):
    class_runs(ckpt)
    at = open_page(ckpt, monkeypatch)  # a laptop: every run
    assert names(at) == ["bob-secret", "bob-fashion", "alice-mnist"]
    assert at.selectbox(key="runs_scope").options == ["Everyone's", "Mine", "Shared with the class"]
    at.selectbox(key="runs_dataset").set_value("fashion-mnist-mini").run()
    assert names(at) == ["bob-fashion"] and "Rows 1–1 of 1" in texts(at.caption)
    at.selectbox(key="runs_dataset").set_value("").run()
    at.selectbox(key="runs_status").set_value("failed").run()
    assert names(at) == ["bob-secret"]
    at.selectbox(key="runs_status").set_value("").run()
    at.text_input(key="runs_text").input("ALICE").run()
    assert names(at) == ["alice-mnist"]
    at.text_input(key="runs_text").input("nothing like this").run()
    assert not at.dataframe and "No run matches these filters" in texts(at.info) and not at.exception
    at.text_input(key="runs_text").input("").run()
    at.selectbox(key="runs_order").set_value("name").run()
    assert names(at) == ["alice-mnist", "bob-fashion", "bob-secret"]


def test_a_student_filters_only_what_she_may_see(ckpt, monkeypatch):
    class_runs(ckpt)
    at = as_student(ckpt, monkeypatch)
    assert at.selectbox(key="runs_scope").options == ["All I can see", "Mine", "Shared with the class"]
    assert names(at) == ["bob-fashion", "alice-mnist"]
    assert at.selectbox(key="runs_status").options == ["any", "completed"]  # bob's failed run is not hers to see
    at.selectbox(key="runs_scope").set_value("mine").run()
    assert names(at) == ["alice-mnist"]
    at.selectbox(key="runs_scope").set_value("shared").run()
    assert names(at) == ["bob-fashion"]


def test_fifty_rows_to_a_page(ckpt, monkeypatch):
    for i in range(60):
        saved(ckpt, f"r{i:02d}", "fashion-mnist-mini" if i % 2 else "mnist-mini",
              created=f"2026-01-01 10:{i:02d}:00")
    at = open_page(ckpt, monkeypatch)
    assert len(names(at)) == 50 and names(at)[0] == "r59" and "Rows 1–50 of 60" in texts(at.caption)
    assert at.get("pagination")[0].num_pages == 2
    at.get("pagination")[0].select(2).run()
    assert not at.exception
    assert names(at) == [f"r{i:02d}" for i in range(9, -1, -1)] and "Rows 51–60 of 60" in texts(at.caption)
    assert at.session_state["selected_run"] == "r09"  # the first row of the page
    at.selectbox(key="runs_dataset").set_value("mnist-mini").run()  # a new filter starts on page 1
    assert "Rows 1–30 of 30" in texts(at.caption) and names(at)[0] == "r58"
    assert not at.get("pagination")  # one page needs no pager
    at.selectbox(key="runs_dataset").set_value("").run()
    assert at.get("pagination")[0].value == 1 and names(at)[0] == "r59"
    at.get("pagination")[0].select(2).run()
    for i in range(11):  # meanwhile the lecturer deletes runs: page 2 is gone
        delete_run(ckpt, f"r{i:02d}", ADMIN)
    at.run()
    assert not at.exception and "Rows 1–49 of 49" in texts(at.caption) and names(at)[0] == "r59"


def test_a_star_is_kept_in_run_json_and_the_index(ckpt, monkeypatch):
    run_id = saved(ckpt, "keeper")
    at = open_page(ckpt, monkeypatch)
    assert at.dataframe[0].value["starred"].tolist() == [""]
    at.toggle(key=f"star_{run_id}").set_value(True).run()
    assert not at.exception and "the clean-up keeps it" in texts(at.success)
    assert json.loads((ckpt / run_id / "run.json").read_text())["starred"] is True
    assert index(ckpt).get(run_id).starred
    assert at.dataframe[0].value["starred"].tolist() == ["⭐"]
    at.toggle(key="runs_starred").set_value(True).run()
    assert names(at) == ["keeper"]
    at.toggle(key=f"star_{run_id}").set_value(False).run()
    assert not index(ckpt).get(run_id).starred and "No run matches" in texts(at.info)


def test_a_student_cannot_delete_anothers_run_even_if_the_click_arrives(ckpt, monkeypatch):
    class_runs(ckpt)
    at = as_student(ckpt, monkeypatch, state={"selected_run": "bob-fashion"})
    assert not any(b.label in ("Delete…", "Rename") for b in at.button)
    assert not any(t.label == "⭐ Starred" for t in at.toggle)
    at.sidebar.text_input(key="lecturer_try").set_value("letmein").run()  # the lecturer may
    button(at, "Delete…").click().run()
    # Lecturer mode ends before the confirmation arrives: the click now comes from a student.
    at.session_state["lecturer"] = False
    button(at, "Yes, delete").click().run()
    assert not at.exception
    assert (ckpt / "bob-fashion").is_dir() and index(ckpt).get("bob-fashion") is not None
    assert "Only the student who trained this run" in texts(at.error)


def test_clean_up_removes_old_unfinished_runs_but_keeps_starred_ones(ckpt, monkeypatch):
    old = "2020-01-01 10:00:00"
    saved(ckpt, "old-failed", status="failed", created=old)
    saved(ckpt, "old-starred", status="interrupted", created=old, starred=True)
    saved(ckpt, "new-failed", status="failed")  # created now: younger than 7 days
    saved(ckpt, "old-completed", created=old)
    (ckpt / "old-failed" / "model.pt").write_bytes(b"0" * 2**20)
    update_run(get_run(ckpt, "old-failed"))  # the index learns its size
    at = open_page(ckpt, monkeypatch)  # a laptop: single user, may clean up
    assert not [b for b in at.button if b.label.startswith("Remove")]  # drawn only when opened
    at.session_state["runs_clean_open"] = True  # what opening the expander sends
    at.run()
    assert "Starred runs are always kept" in texts(at.caption) and "take **1.0 MB**" in texts(at.caption)
    button(at, "Remove 1 run(s)…").click().run()
    assert "Delete 1 run(s) more than 7 day(s) old (1.0 MB)" in texts(at.warning)
    button(at, "Yes, delete them").click().run()
    assert not at.exception and "Removed 1 run(s), freeing 1.0 MB" in texts(at.success)
    assert sorted(p.name for p in ckpt.iterdir() if p.is_dir()) == ["new-failed", "old-completed", "old-starred"]
    assert "old-failed" not in names(at)
    at.number_input(key="runs_clean_days").set_value(0).run()  # any age: the new failed run too
    assert any(b.label == "Remove 1 run(s)…" for b in at.button)
    at.multiselect(key="runs_clean_statuses").set_value([]).run()
    assert "nothing to clean up" in texts(at.caption)


def test_a_student_has_no_clean_up(ckpt, monkeypatch):
    class_runs(ckpt)
    at = as_student(ckpt, monkeypatch)
    assert not any("clean up" in e.label for e in at.expander)


# ----------------------------------------------------------------------------- exports (issue 14)
def shipped(ckpt) -> str:
    import shutil
    from nets.runs import DEFAULT_ROOT
    shutil.copytree(DEFAULT_ROOT / "lenet-mnist-mini", ckpt / "lenet-mnist-mini")
    return "lenet-mnist-mini"


def downloads(at) -> dict:
    return {d.proto.label: d.proto for d in at.get("download_button")}


def export_text(at) -> str:
    return texts(at.markdown) + " " + texts(at.caption)


def test_the_export_section_offers_every_format_for_the_shipped_run(ckpt, monkeypatch):
    shipped(ckpt)
    at = open_page(ckpt, monkeypatch)
    assert "Export" in [s.value for s in at.subheader]
    got = downloads(at)
    for label in ("Download code", "Download CSV", "Download report"):  # built when clicked, or at once (CSV)
        assert label in got and not got[label].disabled
    assert got["Download code"].deferred_file_id and got["Download report"].deferred_file_id  # built on the click
    from nets.export import onnx_export, tensorboard_logs, wandb_run
    for label, missing in (("Prepare ONNX file", onnx_export.onnx_missing()), ("Prepare W&B runs", wandb_run.missing()),
                           ("Prepare TensorBoard logs", tensorboard_logs.missing())):  # seconds: on a click
        assert button(at, label).disabled == bool(missing)  # optional packages (requirements-export.txt)
    words = export_text(at)
    for how in ("python predict.py example.png", "netron.app", "print to PDF", "wandb sync", "tensorboard --logdir"):
        assert how in words, how
    assert "export_one_run" not in [s.key for s in at.selectbox]  # one run: no choice


def test_a_prepared_export_is_offered_and_kept(ckpt, monkeypatch):
    pytest.importorskip("tensorboard")
    from nets.export import tensorboard_logs
    shipped(ckpt)
    at = open_page(ckpt, monkeypatch)
    button(at, "Prepare TensorBoard logs").click().run()
    assert not at.exception
    held_key, exported = at.session_state["export_tensorboard"]
    assert f"Download .zip ({round(exported.size / 2**10)} KB)" in downloads(at)  # with the run's layer statistics
    assert tensorboard_logs.view_command("nnlab-tensorboard-lenet-mnist-mini") in [c.value for c in at.get("code")]
    assert exported.file_name == "nnlab-tensorboard-lenet-mnist-mini.zip" and exported.size > 1000
    at.toggle(key="runs_normalised").set_value(False).run()  # another rerun: the file is kept, not rebuilt
    assert at.session_state["export_tensorboard"][1] is exported
    assert "Prepare TensorBoard logs" not in [b.label for b in at.button]


def test_a_head_on_frozen_features_says_why_there_is_no_code(ckpt, monkeypatch):
    from exporttools import fake_run
    fake_run(ckpt, TrainConfig(backbone="resnet34", model="mlp", hidden=(8,), name="head"), (512, 1, 1))
    at = open_page(ckpt, monkeypatch)
    (code,) = [b for b in at.button if b.label == "Download code"]
    assert code.disabled and "frozen resnet34 features" in code.help
    words = export_text(at)
    assert "Not available: This run trained a head on frozen resnet34 features" in words
    assert "the trained head alone" in words and not button(at, "Prepare ONNX file").disabled


def test_a_missing_package_says_what_to_install(ckpt, monkeypatch):
    from nets.export import onnx_export, wandb_run
    shipped(ckpt)
    hint = "The Weights & Biases export needs wandb: pip install -r requirements-export.txt"
    monkeypatch.setattr(wandb_run, "missing", lambda: hint)
    monkeypatch.setattr(onnx_export, "onnx_missing", lambda: "ONNX export needs onnxscript: pip install -r x.txt")
    at = open_page(ckpt, monkeypatch)
    warnings = texts(at.warning)
    assert hint in warnings and "ONNX export needs onnxscript" in warnings
    assert button(at, "Prepare W&B runs").disabled and button(at, "Prepare ONNX file").disabled
    monkeypatch.setattr(wandb_run, "missing", lambda: "")  # installed meanwhile: offered again
    at.run()
    assert not button(at, "Prepare W&B runs").disabled and hint not in texts(at.warning)


def test_an_export_error_is_a_message_not_a_traceback(ckpt, monkeypatch):
    from nets.export import ExportError, onnx_export
    shipped(ckpt)

    def fails(run, check=True):
        raise ExportError("This model could not be written as ONNX (a test).")
    monkeypatch.setattr(onnx_export, "onnx_file", fails)
    at = open_page(ckpt, monkeypatch)
    button(at, "Prepare ONNX file").click().run()
    assert not at.exception
    assert "could not be written as ONNX (a test)" in texts(at.error)
    assert not button(at, "Prepare ONNX file").disabled  # try again


def test_several_runs_export_together_and_code_takes_the_chosen_one(ckpt, monkeypatch):
    pytest.importorskip("tensorboard")
    import pages._export as export_section
    a = train(ckpt, "first")
    b = train(ckpt, "second", optimizer="adam", lr=0.01)
    coded = []  # the run each drawing of the code button names its zip after
    monkeypatch.setattr(export_section, "zip_name", lambda run: coded.append(run.id) or "x.zip")
    at = open_page(ckpt, monkeypatch, {"runs_table_0": {"selection": {"rows": [0, 1]}}})
    choice = at.selectbox(key="export_one_run")
    assert sorted(choice.options) == ["first", "second"]  # shown by name, chosen by id
    assert "All 2 selected runs together" in texts(at.markdown)
    choice.set_value(a).run()
    assert coded[-1] == a
    choice.set_value(b).run()
    assert coded[-1] == b
    button(at, "Prepare TensorBoard logs").click().run()
    assert not at.exception
    assert at.session_state["export_tensorboard"][1].file_name == "nnlab-tensorboard-2-runs.zip"
    at.session_state["runs_table_0"] = {"selection": {"rows": [0]}}  # another selection: prepare again
    at.run()
    assert any(bt.label == "Prepare TensorBoard logs" for bt in at.button)


# ----------------------------------------------------------------------------- inside training (pages/_dynamics.py)
TEN = tuple(f"fc{i}" for i in range(1, 11))


def inside_runs(ckpt, *kinds):
    """Saved runs (untrained weights, no training) with synthetic statistics of ten layers, one per kind:
    'sigmoid' (vanishing gradients), 'relu' (half the units dead), or None (no statistics)."""
    from exporttools import fake_run, stats_run
    made = []
    for kind in kinds:
        if kind is None:
            cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(8,), epochs=1, stats_every=0, name="no stats")
            made.append(fake_run(ckpt, cfg, (1, 28, 28)))
        else:
            made.append(stats_run(ckpt, kind, records=30, layers=TEN, site_kind=kind, dead=0.5,
                                  grad_first_over_last=1e-6 if kind == "sigmoid" else 0.5))
    return made


def specs(at):
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def facet_rows(at):
    """The small multiples' rows, as Streamlit sends them (Arrow, beside the spec)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
    chart = next(c for c in at.get("vega_lite_chart") if '"facet"' in c.proto.spec)
    return convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)


def test_a_run_without_statistics_says_so_in_one_line(ckpt, monkeypatch):
    inside_runs(ckpt, None)
    at = open_page(ckpt, monkeypatch)
    assert "This run recorded no layer statistics" in texts(at.caption)
    assert not [s for s in at.subheader if s.value == "Inside training"] and not at.get("image")


def test_inside_training_of_a_saved_run_by_step_range_and_metric(ckpt, monkeypatch):
    inside_runs(ckpt, None, "sigmoid")
    at = open_page(ckpt, monkeypatch, {"runs_table_0": {"selection": {"rows": [0, 1]}}})
    assert [s.value for s in at.subheader].count("Inside training") == 1
    assert not at.select_slider and not at.get("image")  # behind its switch: a page run stays quick
    at.toggle(key="runs_inside_show_pick").set_value(True).run()
    assert "No layer statistics in: no stats." in texts(at.caption)
    facet = next(s for s in specs(at) if "facet" in s)
    assert facet["resolve"]["scale"]["y"] == "independent" and facet["facet"]["sort"] == list(TEN)
    assert len(at.get("image")) == 1
    (steps,) = at.select_slider
    assert steps.value == (5, 150)
    at.radio(key="runs_inside_metric").set_value("update ratio")
    steps.set_value((50, 100)).run()
    facet = next(s for s in specs(at) if "facet" in s)
    assert any(layer["mark"]["type"] == "rule" for layer in facet["spec"]["layer"])  # the −3 line in each panel
    assert set(facet_rows(at)["step"]) == set(range(50, 101, 5))  # the range picked, then thinned
    at.radio(key="runs_inside_metric").set_value("dead share").run()
    assert "No dead share in these steps" in texts(at.info)  # a sigmoid network has no dead units to count


def test_two_runs_with_statistics_side_by_side_coloured_by_run(ckpt, monkeypatch):
    inside_runs(ckpt, "sigmoid", "relu")
    at = open_page(ckpt, monkeypatch, {"runs_table_0": {"selection": {"rows": [0, 1]}}, "runs_inside_show": True})
    assert not at.exception
    facet = next(s for s in specs(at) if "facet" in s)
    assert sorted(facet["spec"]["layer"][0]["encoding"]["color"]["scale"]["domain"]) == ["relu", "sigmoid"]
    assert len(at.get("image")) == 2 and "same bins" in texts(at.caption)
    at.radio(key="runs_inside_metric").set_value("dead share").run()
    rows = facet_rows(at)
    assert set(rows["run"]) == {"relu"} and set(rows["layer"]) == {f"after fc{i}" for i in range(1, 10)}
