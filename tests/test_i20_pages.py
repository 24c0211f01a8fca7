"""Issue 20, item 10's smaller words and values: the anatomy quiz's Flatten prompt, the Server page's owners
and PIDs, the code export's "1 epoch" and the TensorBoard export's whole file names."""
import random

import pytest
from torch import nn

from exporttools import fake_run
from nets.engine.config import TrainConfig
from nets.export.code import scripts
from nets.export.result import file_stem
from nets.export.template import plural
from nets.inspect.anatomy import layer_table, make_question
from nets.runs import create_run
from nets.server.lecturer_view import job_rows, owner_text
from pages._widgets import dash_table


# ------------------------------------------------------------------------------ anatomy quiz
def test_the_quiz_names_a_layer_without_details_without_a_stray_space():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    rows = layer_table(model, (1, 8, 8))
    prompts = {make_question(rows, random.Random(seed)).prompt for seed in range(60)}
    flatten = [p for p in prompts if "Flatten" in p]
    assert flatten, prompts
    for p in prompts:
        assert " )" not in p and "( " not in p, p
    assert any("(Flatten) receives a 4×6×6 input" in p for p in flatten), flatten
    assert any("(Conv2d 3×3, 1→4) receives" in p for p in prompts), prompts  # details still there


# ------------------------------------------------------------------------------ server page
class _View:
    def __init__(self, owner, job_id="j1", active=True):
        self.id, self.owner, self.label = job_id, owner, "lenet · mnist"
        self.status = "running" if active else "completed"
        self.active, self.created, self.started_info = active, 1.0, {"device": "cpu"}
        self.started, self.ended, self.position = 1.0, None, None


def test_the_server_view_shows_owners_by_their_names():
    rows = job_rows([_View("name:ana"), _View("user:prof@uni.edu", "j2"), _View(None, "j3"), _View("anon:x", "j4")],
                    [], now=5.0)
    assert [r["owner"] for r in rows] == ["ana", "prof@uni.edu", "—", "a tab without a name"]
    assert owner_text("name:ana") == "ana"


def test_a_worker_pid_next_to_a_missing_one_is_a_whole_number():
    workers = [{"index": 0, "pid": 29756, "job": "j1", "alive": True}]
    rows = job_rows([_View("name:ana", "j1"), _View("name:bo", "j2", active=False)], workers, now=5.0)
    shown = dash_table(rows)
    assert list(shown["worker"]) == [29756, "—"]
    assert all(str(v) != "29756.0" for v in shown["worker"])
    assert list(dash_table([{"pid": None}, {"pid": 7}])["pid"]) == ["—", 7]
    assert list(dash_table([{"x": 1.5}, {"x": None}])["x"]) == [1.5, "—"]  # real fractions stay


# ------------------------------------------------------------------------------ exports
@pytest.mark.parametrize("n, words", [(1, "1 epoch"), (5, "5 epochs"), (0, "0 epochs"), (1000, "1,000 epochs")])
def test_plural(n, words):
    assert plural(n, "epoch") == words


def test_the_code_exports_readme_says_1_epoch(tmp_path):
    run = fake_run(tmp_path, TrainConfig(model="mlp", hidden=(8,), epochs=1), (1, 28, 28), history=[{"epoch": 1}])
    files = scripts(run, None, None)
    assert "1 epochs" not in files["README.md"] and "1 epochs" not in files["train.py"]
    assert "# 1 epoch, as the run did" in files["README.md"]
    assert "python train.py                 1 epoch, as the run did" in files["train.py"]
    assert "EPOCHS = 1\n" in files["train.py"]


def test_a_long_run_id_keeps_its_whole_name_in_a_file_name(tmp_path):
    cfg = TrainConfig(model="lenet", dataset="mnist-mini", optimizer="sgd", lr=0.01, loss="cross-entropy",
                      name="lenet · mnist-mini · sgd lr 0.01 · cross-entropy #6")
    run = create_run(tmp_path, cfg, {})
    stem = file_stem("nnlab-tensorboard-" + run.id)
    assert stem == "nnlab-tensorboard-" + run.id  # before: cut at 80 characters, "…-6-8"


def test_a_too_long_name_is_cut_at_a_word_boundary_with_a_hash():
    a = file_stem("lesson-" + "-".join(["word"] * 40) + "-alpha")
    b = file_stem("lesson-" + "-".join(["word"] * 40) + "-omega")
    assert a != b and len(a) <= 120 and len(b) <= 120
    head, tag = a.rsplit("-", 1)
    assert len(tag) == 8 and head.endswith("-word") and "--" not in a
    assert file_stem("x" * 300).startswith("x" * 100) and len(file_stem("x" * 300)) <= 120
    assert file_stem("///") == "run"


def test_the_tensorboard_zip_is_named_after_the_whole_run_id(tmp_path):
    pytest.importorskip("tensorboard")
    import shutil

    from exporttools import SHIPPED
    from nets.export.tensorboard_logs import export_tensorboard
    from nets.runs import DEFAULT_ROOT, get_run
    long_id = "20261207-053900-lenet-mnist-mini-sgd-lr-0.01-cross-entropy-6-8c3f2a"
    shutil.copytree(DEFAULT_ROOT / SHIPPED, tmp_path / long_id, ignore=shutil.ignore_patterns("evaluation.npz"))
    exported = export_tensorboard([get_run(tmp_path, long_id)])
    assert exported.file_name == f"nnlab-tensorboard-{long_id}.zip"  # before: "…-cross-entropy-6-8.zip"
