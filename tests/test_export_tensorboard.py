"""The TensorBoard export, read back with TensorBoard's own event reader (every histogram kept)."""
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from exporttools import no_data, stats_run  # noqa: E402
from nets.engine.bins import BINS  # noqa: E402
from nets.export import dynamics_out, tensorboard_logs  # noqa: E402
from nets.export.result import ExportError  # noqa: E402
from nets.runs import get_run, load_evaluation  # noqa: E402
from nets.runs.dynamics import read_dynamics  # noqa: E402
from pagetools import tiny_run  # noqa: E402

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "lenet-mnist-mini"


def shipped_run(ckpt):
    # without the evaluation another test may have cached next to it: the export computes its own
    shutil.copytree(SHIPPED, ckpt / SHIPPED.name, ignore=shutil.ignore_patterns("evaluation.npz"))
    return get_run(ckpt, SHIPPED.name)


def read_back(data: bytes, where: Path) -> dict[str, EventAccumulator]:
    """Each run folder of the zip, loaded by TensorBoard's reader, everything kept."""
    zipfile.ZipFile(io.BytesIO(data)).extractall(where)
    (top,) = where.iterdir()
    out = {}
    for folder in sorted(p for p in top.iterdir() if p.is_dir()):
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0, "histograms": 0})
        out[folder.name] = acc.Reload()
    return out


def hparams_of(acc: EventAccumulator) -> dict:
    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}


def test_the_shipped_run_reads_back_with_scalars_image_text_and_hparams(ckpt, tmp_path):
    run = shipped_run(ckpt)
    exported = tensorboard_logs.export_tensorboard([run])
    assert exported.file_name == "nnlab-tensorboard-lenet-mnist-mini.zip"
    runs = read_back(exported.data, tmp_path / "logs")
    assert list(runs) == ["lenet-mnist-mini"]
    acc = runs["lenet-mnist-mini"]
    history = run.info["history"]
    for tag, key in (("loss/train", "train_loss"), ("loss/test", "test_loss"), ("accuracy/train", "train_acc"),
                     ("accuracy/test", "test_acc"), ("learning rate", "lr")):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [h["epoch"] for h in history]
        assert [e.value for e in events] == pytest.approx([h[key] for h in history])
    assert "loss/validation" not in acc.Tags()["scalars"]  # the run kept no validation split
    times = [e.wall_time for e in acc.Scalars("loss/train")]
    assert times[-1] - times[0] == pytest.approx(sum(h["seconds"] for h in history[1:]), abs=1e-3)

    (image,) = acc.Images("confusion matrix")
    assert image.step == history[-1]["epoch"]
    with Image.open(io.BytesIO(image.encoded_image_string)) as im:
        assert im.format == "PNG" and im.size == (image.width, image.height) and min(im.size) > 200

    texts = {t: acc.Tensors(t)[0].tensor_proto.string_val[0].decode() for t in acc.Tags()["tensors"]}
    table = texts["parameter table/text_summary"]
    assert "(5·5·1+1)·10 = 260" in table and "**8,490**" in table
    ev = load_evaluation(run)
    assert f"best class: **{ev.best_class()[0]}**" in texts["classes/text_summary"]

    hp = hparams_of(acc)
    assert (hp["lr"], hp["model"], hp["batch_norm"], hp["epochs"]) == (0.05, "lenet", False, 5)
    assert hp["hidden"] == "[]" and hp["dropout"] == "none"  # lists and None as text
    assert acc.Scalars("hparams/test_accuracy")[0].value == pytest.approx(run.info["test"]["accuracy"])
    d = read_dynamics(run)  # the shipped run carries its layer statistics: every record, at its step
    assert [e.step for e in acc.Histograms("inside/grad_log10abs/conv1")] == d.step.tolist() and len(d) == 48


def test_a_selection_gives_one_folder_per_run_with_matching_hparam_types(ckpt, tmp_path):
    ids = [tiny_run(ckpt, "plain", stats_every=0), tiny_run(ckpt, "dropout", dropout=0.25, stats_every=0)]
    exported = tensorboard_logs.export_tensorboard([get_run(ckpt, i) for i in ids])
    assert exported.file_name == "nnlab-tensorboard-2-runs.zip"
    runs = read_back(exported.data, tmp_path / "logs")
    assert sorted(runs) == ["dropout", "plain"]
    # dropout is None in one run and 0.25 in the other: text in both, so its column has one type
    assert hparams_of(runs["plain"])["dropout"] == "none" and hparams_of(runs["dropout"])["dropout"] == "0.25"
    assert all([e.step for e in acc.Scalars("accuracy/test")] == [1, 2] for acc in runs.values())
    # runs without layer statistics export as before: nothing under inside/
    assert not any(t.startswith("inside") for acc in runs.values() for kind in ("scalars", "histograms", "tensors")
                   for t in acc.Tags()[kind])
    assert "log10 |x|" not in (tmp_path / "logs" / exported.file_name.removesuffix(".zip") / "README.txt").read_text()


def test_every_record_of_the_layer_statistics_reads_back_against_the_training_step(ckpt, tmp_path):
    """More records than TensorBoard's default 500 per tag: the reader, told to keep everything, finds
    each one at its step, with the recorded counts on the documented buckets."""
    runs = [stats_run(ckpt, "relu", records=520, grad_first_over_last=1e-5, dead=0.8),
            stats_run(ckpt, "sigmoid", records=4, site_kind="sigmoid", saturated=0.6)]
    exported = tensorboard_logs.export_tensorboard(runs, dataset=no_data)
    stem = exported.file_name.removesuffix(".zip")
    got = read_back(exported.data, tmp_path / "logs")
    readme = (tmp_path / "logs" / stem / "README.txt").read_text()
    assert tensorboard_logs.view_command(stem) in readme and "histograms=100000" in readme and "log10 |x|" in readme

    acc, d = got["relu"], read_dynamics(runs[0])
    assert sorted(acc.Tags()["histograms"]) == sorted(
        ["inside/weight_log10abs/fc1", "inside/weight_log10abs/fc2", "inside/grad_log10abs/fc1",
         "inside/grad_log10abs/fc2", "inside/act_log10abs/relu after fc1"])
    edges = dynamics_out.axis_edges("log")
    assert len(edges) == BINS and edges[0] == -10.3 and edges[1] == -10 and edges[-1] == 2.3
    for tag, counts in (("inside/grad_log10abs/fc2", d.hist_grad[:, 1]), ("inside/act_log10abs/relu after fc1", d.hist_act[:, 0])):
        events = acc.Histograms(tag)
        assert [e.step for e in events] == d.step.tolist() == list(range(5, 5 * 521, 5))
        for e, row in zip(events[::97], counts[::97]):
            h = e.histogram_value
            folded = [row[0] + row[1], *row[2:]]  # zeros and underflows share the first bucket
            first, last = np.flatnonzero(folded)[[0, -1]]
            assert h.bucket == pytest.approx(folded[first:last + 1]) and h.num == row.sum()
            assert h.bucket_limit == pytest.approx(edges[first + 1:last + 2])
            assert (h.min, h.max) == pytest.approx((edges[first], edges[last + 1]))
    grad = acc.Scalars("inside/grad_norm/fc1")
    assert [e.step for e in grad] == d.step.tolist() and grad[0].value == pytest.approx(1e-5)
    assert [e.value for e in acc.Scalars("inside/update_ratio/fc2")] == pytest.approx([1e-3] * 520)
    assert acc.Scalars("inside/dead_share/relu after fc1")[-1].value == pytest.approx(0.8)
    assert "inside/saturated_share/relu after fc1" not in acc.Tags()["scalars"]
    loss = acc.Scalars("loss/train")  # the epoch metrics stay against the epoch, after their records in time
    assert [e.step for e in loss] == [1, 2] and grad[-1].wall_time == loss[-1].wall_time
    text = acc.Tensors("inside training/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "vanishing gradients" in text and "log10 \\|x\\|" in text

    sig = got["sigmoid"]
    (e, *rest) = sig.Histograms("inside/act/sigmoid after fc1")
    assert len(rest) == 3 and 0 <= e.histogram_value.min < e.histogram_value.max <= 1
    assert sig.Scalars("inside/saturated_share/sigmoid after fc1")[0].value == pytest.approx(0.6)
    assert "inside/dead_share/sigmoid after fc1" not in sig.Tags()["scalars"]


def test_without_tensorboard_the_button_says_what_to_install(ckpt, monkeypatch):
    import nets.export.result as result  # where the lookup lives
    monkeypatch.setattr(result, "missing_packages", lambda *m: list(m))
    assert "pip install -r requirements-export.txt" in tensorboard_logs.missing()
    with pytest.raises(ExportError, match="requirements-export.txt"):
        tensorboard_logs.export_tensorboard([shipped_run(ckpt)])
