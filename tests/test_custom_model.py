"""A builder network as a configuration: the command line, the runs index, the layer statistics, the
budget, the job's GPU share and the doctor's fixes all take `model="custom"` with its layers."""
from dataclasses import replace

import pytest
import torch

from dynamicstools import synthetic

from nets.cli import build_parser
from nets.coach.doctor import inside_advice
from nets.coach.dynamics import findings
from nets.engine.config import PRESETS, ConfigError, TrainConfig, validate
from nets.engine.models import CNN_MODELS, CONV_MODELS, build_model
from nets.engine.netspec import from_text
from nets.engine.probe import LayerProbe
from nets.runs.rows import record_problem
from nets.server.costs import estimate
from nets.training_work import TrainWork

SMALL = from_text("conv_8_k3_p1,relu,maxpool_2,residual_16_s2,gelu,gap,flatten,linear")
SIGMOID = from_text("flatten," + ",".join(["linear_32,sigmoid"] * 6) + ",linear")


def test_the_command_line_reads_layers_and_names_a_bad_one(capsys):
    args = build_parser().parse_args(["--model", "custom", "--layers", "conv_8_k3_p1,relu,flatten,linear"])
    assert args.layers == from_text("conv_8_p1,relu,flatten,linear")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--model", "custom", "--layers", "conv_8,convv_3"])
    assert "layer 2 'convv_3': no layer type 'convv' (did you mean conv?)" in capsys.readouterr().err
    validate(PRESETS["custom-mnist"])


def test_validate_names_the_layer_and_the_fix():
    with pytest.raises(ConfigError, match="Linear 1 gets a 8×28×28 map.*insert Flatten before Linear 1"):
        validate(TrainConfig(model="custom", layers=from_text("conv_8_k3_p1,relu,linear")))
    with pytest.raises(ConfigError, match="layer 1 \\(Conv 1\\): kernel 40"):
        validate(TrainConfig(model="custom", layers=[{"type": "conv", "kernel": 40}]))
    with pytest.raises(ConfigError, match="lenet has no option"):
        validate(TrainConfig(model="lenet", layers=SMALL))
    validate(TrainConfig(model="custom"))  # no layers: Flatten → Linear, logistic regression
    validate(TrainConfig(model="custom", dataset="folder", folder="pets", layers=SMALL))  # classes unknown here


def test_a_custom_run_record_is_not_damaged():
    cfg = TrainConfig(model="custom", layers=SMALL)
    info = {"id": "x", "name": cfg.label(), "status": "completed", "config": cfg.to_dict()}
    assert record_problem(info) is None
    info["config"]["layers"] = [{"type": "conv", "out": {"evil": 1}}]
    assert "layers" in record_problem(info)
    assert cfg.label().startswith("custom c8-r16")


def test_layer_statistics_use_the_builders_labels_and_watch_gelu():
    net = build_model("custom", (1, 28, 28), 10, layers=SMALL)
    probe = LayerProbe(net, 10, torch.zeros(2, 1, 28, 28))
    plan = probe.plan()
    assert plan.layers == ["Conv 1", "Res 1 · conv a", "Res 1 · conv b", "Res 1 · shortcut", "Linear 1"]
    assert plan.sites[0] == "ReLU 1" and plan.sites[-1] == "GELU 1" and plan.site_kinds[-1] == "gelu"
    assert len(set(plan.sites)) == len(plan.sites)
    probe.remove()


def test_custom_is_a_convolutional_model_but_not_one_of_the_courses_cnns():
    assert "custom" in CONV_MODELS and "custom" not in CNN_MODELS
    small = TrainWork(TrainConfig(model="custom", layers=SMALL), checkpoints="unused")
    big = TrainWork(replace(PRESETS["resnet18-scratch"], model="custom", layers=from_text(
        "conv_64_k3_p1,batchnorm,relu" + ",residual_512" * 8 + ",gap,flatten,linear")), checkpoints="unused")
    assert small.resources(1, 1)["num_gpus"] < big.resources(1, 1)["num_gpus"]


def test_the_budget_counts_a_custom_network_without_building_it():
    huge = TrainConfig(model="custom", dataset="cifar10", stats_every=0,
                       layers=from_text("conv_2048_k3_p1,flatten,linear_16384,linear"))
    cost = estimate(huge)
    assert cost.params == (27 * 2048 + 2048) + (2048 * 32 * 32 + 1) * 16384 + 16385 * 10
    net = build_model("custom", (1, 28, 28), 10, layers=SMALL)
    assert estimate(TrainConfig(model="custom", layers=SMALL)).params == sum(p.numel() for p in net.parameters())

def test_the_doctors_fixes_for_a_builder_network_are_layer_changes_that_validate():
    cfg = TrainConfig(model="custom", layers=SIGMOID, stats_every=5)
    d = synthetic(layers=tuple(f"Linear {i}" for i in range(1, 8)), site_kind="sigmoid",
                  grad_first_over_last=1e-6, saturated=0.8)
    cards = inside_advice(cfg, findings(d), d)
    assert cards, "a vanishing, saturated sigmoid stack gets advice"
    kinds = {tuple(sorted(c.changes)) for c in cards}
    assert ("layers",) in kinds and {"Retry with ReLU", "Retry with batch norm"} <= {c.action for c in cards}
    for card in cards:
        fixed = validate(card.apply(cfg))
        if card.action == "Retry with ReLU":
            assert {d["type"] for d in fixed.layers} == {"flatten", "linear", "relu"}
        if card.action == "Retry with batch norm":
            assert [d["type"] for d in fixed.layers][:4] == ["flatten", "linear", "batchnorm", "sigmoid"]
            assert fixed.layers[-1]["type"] == "linear" and fixed.layers[-2]["type"] == "sigmoid"


def test_a_builder_copy_of_lenet_costs_what_lenet_costs():
    from nets.engine.netbuild import copy_of
    lenet = TrainConfig(model="lenet", dataset="mnist")
    copy = replace(lenet, model="custom", layers=copy_of("lenet", {}, (1, 28, 28)))
    a, b = estimate(lenet), estimate(copy)  # the meta-device trace against netshape's arithmetic
    assert a.params == b.params and a.images == b.images
    assert abs(a.macs_per_image - b.macs_per_image) / a.macs_per_image < 0.05 and abs(a.memory_bytes - b.memory_bytes) / a.memory_bytes < 0.05
