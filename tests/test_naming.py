import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from nets.engine.config import PRESETS, TrainConfig, four_configs
from nets.engine.naming import MAX_NAME, NAME_LIMIT, default_name, format_lr, unique_name
from nets.runs import new_run_id

ROOT = Path(__file__).resolve().parent.parent


def slug(name: str) -> str:
    """What nets.runs makes of a name before it cuts at 60 characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def test_a_name_says_model_dataset_optimizer_learning_rate_and_loss():
    cfg = TrainConfig(model="lenet", dataset="mnist-mini", optimizer="sgd", lr=0.05, loss="ce")
    assert default_name(cfg) == "lenet · mnist-mini · sgd lr 0.05 · cross-entropy"
    assert slug(default_name(cfg)) == "lenet-mnist-mini-sgd-lr-0-05-cross-entropy"
    assert default_name(replace(cfg, name="my run")) == default_name(cfg)  # the name field is not read


def test_the_four_configurations_have_distinct_names():
    names = [default_name(c) for c in four_configs(TrainConfig(dataset="cifar10", model="cnn5"))]
    assert names == ["cnn5 · cifar10 · sgd lr 0.001 · cross-entropy",
                     "cnn5 · cifar10 · sgd lr 0.001 · squared error",
                     "cnn5 · cifar10 · adam lr 0.01 · cross-entropy",
                     "cnn5 · cifar10 · adam lr 0.01 · squared error"]
    small = four_configs(TrainConfig(dataset="mnist-mini", model="lenet", train_per_class=20))
    assert len({default_name(c) for c in small}) == 4
    assert len({slug(default_name(c)) for c in small}) == 4  # distinct folder ids too


@pytest.mark.parametrize("lr, text", [(0.001, "0.001"), (1e-4, "1e-4"), (0.05, "0.05"), (0.01, "0.01"),
                                      (3e-4, "3e-4"), (2.5e-5, "2.5e-5"), (0.1 + 0.2, "0.3"), (1.0, "1"),
                                      (1000.0, "1000"), (0.5, "0.5")])
def test_learning_rates_read_naturally(lr, text):
    assert format_lr(lr) == text
    assert float(text) == pytest.approx(lr)


def test_common_variants_are_told_apart():
    mlp = TrainConfig(model="mlp", dataset="mnist", optimizer="adam", lr=1e-3)
    assert default_name(replace(mlp, hidden=(256, 128))) == "mlp 256-128 · mnist · adam lr 0.001 · cross-entropy"
    assert default_name(replace(mlp, hidden=(128,))) != default_name(replace(mlp, hidden=(256, 128)))
    assert default_name(replace(mlp, hidden=(64,) * 6, activation="sigmoid")).startswith("mlp 6×64 sigmoid ·")
    assert "relu" not in default_name(replace(mlp, activation="relu"))  # the default is not worth the room
    head = PRESETS["resnet34-features-head"]
    assert default_name(head).startswith("resnet34 features + mlp 256-128 · cifar10 · sgd lr 0.01")
    resnet = TrainConfig(model="resnet18", dataset="cifar10", optimizer="adam", lr=1e-4)
    names = {default_name(resnet), default_name(replace(resnet, pretrained=True)),
             default_name(replace(resnet, pretrained=True, train_blocks=0))}
    assert len(names) == 3
    assert "pretrained, head only" in default_name(replace(resnet, pretrained=True, train_blocks=0))
    assert "mnist-mini 20/class" in default_name(TrainConfig(train_per_class=20))
    assert "my_flowers" in default_name(TrainConfig(dataset="folder", folder="/home/me/my_flowers/"))


def test_names_are_short_and_survive_the_folder_id_whole():
    long_one = TrainConfig(model="mlp", hidden=tuple(range(100, 116)), activation="leaky-relu", backbone="resnet34",
                           dataset="folder", folder="/data/" + "a_very_long_folder_name" * 3, train_per_class=1000,
                           optimizer="rmsprop", lr=2.5e-5, loss="mse")
    for cfg in [*PRESETS.values(), *four_configs(), long_one]:
        name = default_name(cfg)
        assert len(name) <= MAX_NAME, name
        run_id = new_run_id(replace(cfg, name=name))
        assert f"-{slug(name)}-" in run_id, (name, run_id)  # nothing cut off
    assert default_name(long_one) == "mlp · a_very_long_folder_n · rmsprop lr 2.5e-5 · MSE"  # the core stays


def test_colliding_names_get_a_short_suffix():
    name = "lenet · mnist-mini · sgd lr 0.05 · cross-entropy"
    assert unique_name(name, []) == name
    assert unique_name(name, ["other"]) == name
    assert unique_name(name, [name]) == name + " #2"
    assert unique_name(name, [name, name + " #2"]) == name + " #3"
    assert unique_name(name, [name.upper() + "  "]) == name + " #2"   # case and spaces do not make it distinct
    assert unique_name(name + " #2", [name, name + " #2"]) == name + " #3"  # counts on, never "#2 #2"
    assert slug(unique_name(name, [name])).endswith("-2")


def test_suffixes_keep_names_within_their_limits():
    full = "x" * MAX_NAME
    assert unique_name(full, [full]) == "x" * (MAX_NAME - 3) + " #2"
    user = "y" * 80
    assert unique_name(user, [user]) == "y" * 77 + " #2"
    huge = "z" * NAME_LIMIT
    assert len(unique_name(huge, [huge])) == NAME_LIMIT


def test_naming_does_not_import_the_config_at_module_level():
    # nets.engine.config imports naming for TrainConfig.label(): the other way round would be a cycle
    code = "import sys, nets.engine.naming; print('nets.engine.config' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_common_part_keeps_what_tells_runs_apart():
    from nets.engine.config import four_configs
    from nets.engine.naming import common_part
    names = [default_name(c) for c in four_configs(TrainConfig(model="lenet", dataset="mnist-mini"))]
    common, rest = common_part(names)
    assert common == "lenet · mnist-mini"
    assert rest[0] == "sgd lr 0.001 · cross-entropy" and rest[3] == "adam lr 0.01 · squared error"
    assert common_part(["a · b", "a · b"]) == ("a", ["b", "b"])  # never an empty remainder
    assert common_part(["only one"]) == ("", ["only one"])
    assert common_part(["x · y", "z · y"]) == ("", ["x · y", "z · y"])
