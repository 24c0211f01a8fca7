import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchvision.datasets import CIFAR10

from nets.cli import build_parser, config_from_args, main
from nets.engine.config import PRESETS, TrainConfig
from nets.runs import get_run

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "nets", "train", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.mark.slow
def test_cli_trains_mnist_mini_and_prints_json_last(tmp_path):
    r = cli("--dataset", "mnist-mini", "--model", "lenet", "--optimizer", "sgd", "--lr", "0.05",
            "--loss", "ce", "--epochs", "1", "--train-per-class", "100", "--threads", "1",
            "--checkpoints", str(tmp_path))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"run_id", "best_test_acc", "best_epoch", "seconds", "images_per_s"} <= set(summary)
    assert 0.5 < summary["best_test_acc"] <= 1 and summary["best_epoch"] == 1
    assert get_run(tmp_path, summary["run_id"]).has_model
    assert "epoch 1: train loss" in r.stderr


@pytest.mark.slow
def test_cli_four_configs_table(tmp_path):
    r = cli("--preset", "four-configs", "--dataset", "mnist-mini", "--model", "mlp", "--epochs", "1",
            "--train-per-class", "20", "--threads", "1", "--quiet", "--checkpoints", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    runs = json.loads(lines[-1])["runs"]
    assert [x["name"] for x in runs] == [f"mlp · mnist-mini 20/class · {opt} · {loss}" for opt, loss in
                                         (("sgd lr 0.001", "cross-entropy"), ("sgd lr 0.001", "squared error"),
                                          ("adam lr 0.01", "cross-entropy"), ("adam lr 0.01", "squared error"))]
    assert "best test acc" in lines[0] and len(lines) == 6
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 4


def run_main(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own exit for bad flags
        code = e.code
    return code, capsys.readouterr().err


def test_bad_flags_get_clear_messages(tmp_path, capsys, monkeypatch):
    code, err = run_main(["--model", "vgg"], capsys)
    assert code == 2 and "invalid choice: 'vgg'" in err
    code, err = run_main(["--lr", "-1", "--epochs", "0"], capsys)
    assert code == 2 and "the learning rate must be above 0 and at most 1,000; you typed -1;" in err
    assert "the number of epochs must be from 1 to 10,000; you typed 0" in err
    code, err = run_main(["--hidden", "12,x"], capsys)
    assert code == 2 and "Hidden sizes: write whole numbers separated by commas" in err and "'x'" in err
    monkeypatch.setattr(CIFAR10, "url", "http://nnlab-test.invalid/cifar-10-python.tar.gz")
    code, err = run_main(["--dataset", "cifar10", "--data-dir", str(tmp_path), "--checkpoints",
                          str(tmp_path / "c")], capsys)
    assert code == 1 and "CIFAR-10 could not be downloaded" in err and "Traceback" not in err


def test_every_config_field_is_a_flag():
    args = build_parser().parse_args(["--preset", "lenet-mnist", "--hidden", "8,4", "--augment", "crop,flip",
                                      "--no-amp", "--dropout", "0.1", "--lr", "0.5", "--model", "mlp"])
    cfg = config_from_args(args)
    assert cfg.hidden == (8, 4) and cfg.augment == ("crop", "flip") and cfg.amp is False
    assert cfg.lr == 0.5 and cfg.model == "mlp" and cfg.dataset == PRESETS["lenet-mnist"].dataset
    flags = build_parser().format_help()
    for name in TrainConfig.__dataclass_fields__:
        assert "--" + name.replace("_", "-") in flags


def test_model_option_flags_come_from_the_one_table():
    from nets.engine.options import OPTIONS
    actions = {a.dest: a for a in build_parser()._actions}
    for name, option in OPTIONS.items():
        assert actions[name].help.startswith(option.help)  # the table's words, not a second copy
        if option.kind == "choice" and all(isinstance(v, str) for v in option.choices.values()):
            assert set(actions[name].choices) == {v for v in option.choices.values() if v}
    # sizes read as every form reads them (nets.parse.int_list): commas or spaces, the table's range
    args = build_parser().parse_args(["--model", "mlp", "--hidden", "256 128", "--channels", "8;16"])
    assert config_from_args(args).hidden == (256, 128) and config_from_args(args).channels == (8, 16)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--channels", str(OPTIONS["channels"].hi + 1)])
