"""The W&B export, read back from the offline run folder: its .wandb record log (wandb's own protobufs)
and the files it names, as the student's `wandb sync` would find them after unzipping; the layer
statistics as histograms and scalars against train_step, every record, between the epochs' rows."""
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("wandb")

from PIL import Image  # noqa: E402

from exporttools import add_stats  # noqa: E402
from nets.export import dynamics_out, wandb_log, wandb_run  # noqa: E402
from nets.export.result import ExportError  # noqa: E402
from nets.inspect.anatomy import layer_table  # noqa: E402
from nets.runs import get_run, load_evaluation, load_model, update_run  # noqa: E402
from nets.runs.dynamics import read_dynamics  # noqa: E402
from pagetools import tiny_run  # noqa: E402

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "lenet-mnist-mini"
WANDB_DIRS = [Path.home() / p for p in (".local/share/wandb", ".cache/wandb", ".config/wandb")]


def shipped_run(ckpt):
    # without the evaluation another test may have cached next to it: the export computes its own
    shutil.copytree(SHIPPED, ckpt / SHIPPED.name, ignore=shutil.ignore_patterns("evaluation.npz"))
    return get_run(ckpt, SHIPPED.name)


def wandb_pids() -> set[int]:
    """Processes of wandb's (its wandb-core service) or of our export's child."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and (b"wandb-core" in cmd or b"nets.export.wandb_run" in cmd):
            pids.add(int(entry.name))
    return pids


def files_under(folders) -> set[Path]:
    return {p for f in folders if f.exists() for p in f.rglob("*")}


def unzip(data: bytes, where: Path) -> Path:
    zipfile.ZipFile(io.BytesIO(data)).extractall(where)
    (top,) = where.iterdir()
    return top


def records(run_dir: Path) -> dict[str, list]:
    by_kind: dict[str, list] = {}
    for r in wandb_log.read_records(next(run_dir.glob("run-*.wandb"))):
        kind = r.WhichOneof("record_type")
        by_kind.setdefault(kind, []).append(getattr(r, kind))
    return by_kind


def history(by_kind) -> list[dict]:
    """The logged rows; a histogram's parts (nested keys) gathered under its key: {"values", "bins", "_type"}."""
    rows = []
    for h in by_kind["history"]:
        row = {}
        for item in h.item:
            keys = list(item.nested_key) or [item.key]
            if len(keys) == 1:
                row[keys[0]] = json.loads(item.value_json)
            else:
                row.setdefault(keys[0], {})[keys[1]] = json.loads(item.value_json)
        rows.append(row)
    return rows


def artifact(by_kind, part: str):
    (found,) = [a for a in by_kind["artifact"] if part in a.name]
    return found


def table(art, top: Path) -> tuple[dict, dict[str, Path]]:
    """An artifact's table (its .table.json) and its files, found where the manifest says, relative
    to the folder the student runs `wandb sync` in."""
    files = {c.path: top / c.local_path for c in art.manifest.contents}
    assert all(not Path(c.local_path).is_absolute() and (top / c.local_path).is_file() for c in art.manifest.contents)
    (name,) = [p for p in files if p.endswith(".table.json")]
    return json.loads(files[name].read_text()), files


def test_the_shipped_run_reads_back_with_everything_the_coursework_logs(ckpt, tmp_path, monkeypatch):
    run = shipped_run(ckpt)
    originals = {}
    keep = wandb_log.keep_artifacts_with_run

    def keep_and_remember(run_dir, root):  # wandb-core's own log, before the export rewrites its paths
        originals[run_dir.name] = next(run_dir.glob("run-*.wandb")).read_bytes()
        keep(run_dir, root)
    monkeypatch.setattr(wandb_run, "keep_artifacts_with_run", keep_and_remember)
    before_pids, before_files = wandb_pids(), files_under(WANDB_DIRS)

    exported = wandb_run.export_wandb([run])

    assert wandb_pids() <= before_pids, "wandb left a process running"
    assert files_under(WANDB_DIRS) == before_files, "wandb wrote into the server's home folder"
    assert exported.file_name == "nnlab-wandb-lenet-mnist-mini.zip" and exported.mime == "application/zip"
    top = unzip(exported.data, tmp_path / "unzipped")
    assert wandb_run.sync_command(exported.file_name) in (top / "README.txt").read_text()
    assert "Layer statistics (step metric train_step)" in (top / "README.txt").read_text()
    (run_dir,) = (top / "wandb").glob("offline-run-*")
    assert not (run_dir / "logs").exists()
    # the record log is framed exactly as wandb-core frames it: unframing and framing again changes nothing
    original = next(iter(originals.values()))
    assert wandb_log.frame(wandb_log.read_payloads(original)) == original

    by_kind = records(run_dir)
    (meta,) = by_kind["run"]
    config = {u.key: json.loads(u.value_json) for u in meta.config.update}
    assert meta.display_name == "lenet-mnist-mini" and meta.project == wandb_run.PROJECT and meta.run_group == ""
    assert config["lr"] == 0.05 and config["model"] == "lenet" and config["run_id"] == run.id
    assert config["classes"] == [str(d) for d in range(10)] and config["params"] == 8490

    logged = history(by_kind)
    rows = [h for h in logged if "train/loss" in h]  # the epochs' rows, between the layer statistics' records
    assert [h["epoch"] for h in rows] == [1, 2, 3, 4, 5] and len(logged) == 5 + len(read_dynamics(run))
    assert [h["train_step"] for h in logged] == sorted(h["train_step"] for h in logged)
    for h, e in zip(rows, run.info["history"]):
        assert h["train/loss"] == pytest.approx(e["train_loss"]) and h["test/accuracy"] == pytest.approx(e["test_acc"])
        assert h["lr"] == e["lr"] and "val/loss" not in h
    summary = {u.key or u.nested_key[0]: json.loads(u.value_json) for s in by_kind["summary"] for u in s.update}
    ev = load_evaluation(run)
    assert summary["test accuracy"] == pytest.approx(run.info["test"]["accuracy"])
    assert (summary["best class"], summary["worst class"]) == (ev.best_class()[0], ev.worst_class()[0])

    matrix, _ = table(artifact(by_kind, "confusionmatrix"), top)
    counts = {(a, p): n for a, p, n in matrix["data"]}
    cm = ev.confusion
    assert sum(counts.values()) == len(ev.labels) == 1000
    assert all(counts[(c, c)] == cm[i, i] for i, c in enumerate(ev.classes))

    for part, expected in (("samplepredictions", ev.first_predictions(16)), ("firstmistakes", ev.first_mistakes(16))):
        t, files = table(artifact(by_kind, part), top)
        assert t["columns"] == ["index", "image", "true", "predicted", "confidence", "correct"]
        assert [r[0] for r in t["data"]] == [x["index"] for x in expected]
        assert [(r[2], r[3], r[5]) for r in t["data"]] == [(x["true"], x["predicted"], x["correct"]) for x in expected]
        for r in t["data"]:
            with Image.open(files[r[1]["path"]]) as im:
                assert im.format == "PNG" and im.size == (84, 84)

    params, _ = table(artifact(by_kind, "parametertable"), top)
    expected_rows = layer_table(load_model(run), run.info["input_shape"])
    assert len(params["data"]) == len(expected_rows)
    formula = params["columns"].index("formula")
    assert [r[formula] for r in params["data"]] == [r["formula"] for r in expected_rows]
    assert "(5·5·1+1)·10 = 260" in [r[formula] for r in params["data"]]
    assert list((run_dir / "files" / "media" / "images").glob("confusion matrix image_*.png"))


def test_a_group_of_runs_becomes_one_wandb_group(ckpt, tmp_path):
    """... one of them with layer statistics, logged as histograms and scalars against train_step."""
    ids = [tiny_run(ckpt, f"lr {lr}", lr=lr, stats_every=0) for lr in (0.05, 0.2)]
    runs = [get_run(ckpt, ids[0]), add_stats(get_run(ckpt, ids[1]), records=7, dead=0.6)]
    assert wandb_run.common_group(runs).startswith("compare-")  # a selection of runs from anywhere
    for r in runs:
        update_run(r, group="lr-sweep")  # the four-configuration form's group
    exported = wandb_run.export_wandb(runs)
    top = unzip(exported.data, tmp_path / "unzipped")
    metas = [records(d)["run"][0] for d in sorted((top / "wandb").glob("offline-run-*"))]
    assert {m.run_group for m in metas} == {"lr-sweep"}
    assert sorted(m.display_name for m in metas) == ["lr 0.05", "lr 0.2"]
    lrs = sorted(json.loads(u.value_json) for m in metas for u in m.config.update if u.key == "lr")
    assert lrs == [0.05, 0.2]
    assert "lr-sweep" in exported.file_name and "log10 |x|" in (top / "README.txt").read_text()
    by_name = {m.display_name: records(d) for m, d in zip(metas, sorted((top / "wandb").glob("offline-run-*")))}
    plain_rows, rows = history(by_name["lr 0.05"]), history(by_name["lr 0.2"])
    assert [r["_step"] for r in plain_rows] == [1, 2] and not any(k.startswith("inside") for r in plain_rows for k in r)
    # the run with statistics: 7 records (4 in epoch 1, 3 in epoch 2) and each epoch's row after its records
    d = read_dynamics(runs[1])
    assert [r["_step"] for r in rows] == list(range(9)) and [r["train_step"] for r in rows] == [5, 10, 15, 20, 20, 25, 30, 35, 35]
    epoch_rows = [r for r in rows if "train/loss" in r]
    assert [(r["epoch"], r["train_step"]) for r in epoch_rows] == [(1, 20), (2, 35)]
    records_ = [r for r in rows if "train/loss" not in r]
    assert [r["train_step"] for r in records_] == d.step.tolist() and [r["epoch"] for r in records_] == d.epoch.tolist()
    for r, i in zip(records_, range(len(d))):
        grad = r["inside/grad_log10abs/fc2"]
        assert grad["_type"] == "histogram" and grad["bins"] == pytest.approx(dynamics_out.axis_edges("log"))
        assert grad["values"] == [d.hist_grad[i, 1, :2].sum(), *d.hist_grad[i, 1, 2:]]  # zeros and underflows together
        act = r["inside/act_log10abs/relu after fc1"]["values"]
        assert sum(act) == d.hist_act[i, 0].sum() and r["inside/dead_share/relu after fc1"] == pytest.approx(0.6)
        assert r["inside/update_ratio/fc1"] == pytest.approx(1e-3) and "inside/saturated_share/relu after fc1" not in r
    metrics = {m.name or m.glob_name: m.step_metric for m in by_name["lr 0.2"]["metric"]}
    assert metrics["inside/*"] == "train_step" and metrics["train/loss"] == metrics["test/accuracy"] == "epoch"
    # wandb's own sync command, run as the README says, finds both runs (a dry run: no network, no key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(tmp_path / "home"), WANDB_CONFIG_DIR=str(tmp_path / "config"))
    command = wandb_run.sync_command(exported.file_name).split("&&")[-1].split()[1:]
    dry = subprocess.run([sys.executable, "-m", "wandb", *command, "--dry-run"], cwd=top, env=env,
                         capture_output=True, text=True, timeout=120)
    assert "Would sync 2 run(s)" in dry.stdout + dry.stderr, dry.stdout + dry.stderr


def test_long_records_cross_blocks_as_wandb_core_writes_them(tmp_path):
    """A record larger than a 32 KiB block is split (first, middle, last): what wandb-core writes,
    the export's reader reads and its writer reproduces byte for byte."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"project": "p", "group": "", "runs": [{
        "name": "long", "notes": "", "tags": [], "config": {"blob": "x" * 90_000}, "summary": {},
        "epochs": [{"epoch": 1, "train/loss": 1.0}], "confusion": None, "samples": [], "mistakes": [], "layers": []}]}))
    out = tmp_path / "out"
    wandb_run.run_child(spec, out, tmp_path)
    log = next(out.rglob("run-*.wandb"))
    data = log.read_bytes()
    assert len(data) > 2 * wandb_log.BLOCK  # the config record alone spans three blocks
    meta = [r.run for r in wandb_log.read_records(log) if r.WhichOneof("record_type") == "run"][0]
    assert {u.key: json.loads(u.value_json) for u in meta.config.update}["blob"] == "x" * 90_000
    assert wandb_log.frame(wandb_log.read_payloads(data)) == data
    copy = tmp_path / "copy.wandb"  # and written back from protobufs, it holds the same records
    wandb_log.write_records(copy, wandb_log.read_records(log))
    assert wandb_log.read_records(copy) == wandb_log.read_records(log)


def test_without_wandb_the_button_says_what_to_install(ckpt, monkeypatch):
    import nets.export.result as result  # where the lookup lives
    monkeypatch.setattr(result, "missing_packages", lambda *m: list(m))
    assert "pip install -r requirements-export.txt" in wandb_run.missing()
    with pytest.raises(ExportError, match="requirements-export.txt"):
        wandb_run.export_wandb([shipped_run(ckpt)])


def test_no_api_key_and_no_server_settings_reach_the_child(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "secret")
    monkeypatch.setenv("WANDB_MODE", "online")
    env = wandb_run.child_env(tmp_path, tmp_path / "out")
    assert "WANDB_API_KEY" not in env and env["WANDB_MODE"] == "offline"
    assert all(env[k].startswith(str(tmp_path)) for k in ("HOME", "WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR"))
    assert os.environ["WANDB_API_KEY"] == "secret"  # the server's own environment is untouched
