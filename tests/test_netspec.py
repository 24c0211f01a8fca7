"""The builder's specification: the layer vocabulary, the read-only Layer, labels and the text form."""
import copy
import json
import pickle
from dataclasses import asdict, replace

import pytest

from nets.engine import netspec
from nets.engine.config import TrainConfig
from nets.engine.models import ACTIVATIONS
from nets.engine.netspec import Layer, SpecError, from_text, labels, layer, normal, problems, to_text
from nets.parse import ParseError

LENET = "conv_6_k5_p2,relu,maxpool_2,conv_16_k5,relu,maxpool_2,flatten,linear_120,relu,linear_84,relu,linear"
EVERY_TYPE = ("conv_64_k3_s2_p1_g4_nobias,batchnorm,leaky_relu,maxpool_3_s1_p1,avgpool_2,dropout2d_0.25,gelu,"
              "residual_128_s2,gated_32_tanh,gap,flatten,dropout,sigmoid,tanh,linear_120_i400,relu,linear")


def test_every_type_reads_back_from_its_text():
    layers = from_text(EVERY_TYPE)
    assert {d["type"] for d in layers} == set(netspec.TYPES)
    assert from_text(to_text(layers)) == layers
    assert to_text(from_text(LENET)) == LENET
    assert layers[0] == {"type": "conv", "out": 64, "kernel": 3, "stride": 2, "padding": 1, "groups": 4, "bias": False}
    assert layers[-1] == {"type": "linear", "out": 0, "in": 0}  # a bare linear: one output per class


def test_the_builders_activations_are_the_models():
    assert set(netspec.ACTIVATION_TYPES) | {"linear"} == set(ACTIVATIONS)


def test_a_layer_is_read_only_hashable_and_round_trips():
    d = layer("conv", out=6, kernel=5, padding=2)
    with pytest.raises(TypeError):
        d["out"] = 7
    with pytest.raises(TypeError):
        d.update(out=7)
    assert hash(d) == hash(normal({"type": "conv", "out": 6, "kernel": 5, "padding": 2}))
    assert d == {"type": "conv", "out": 6, "kernel": 5, "stride": 1, "padding": 2, "groups": 1, "bias": True}
    assert pickle.loads(pickle.dumps(d)) == d and type(pickle.loads(pickle.dumps(d))) is Layer
    assert copy.deepcopy(d) == d and json.loads(json.dumps(d)) == d
    assert (d | {"out": 8})["out"] == 8 and d["out"] == 6


def test_a_config_holds_layers_that_survive_json_asdict_and_replace():
    cfg = TrainConfig(model="custom", layers=[{"type": "conv", "out": 8}, {"type": "flatten"}, {"type": "linear"}])
    assert all(type(d) is Layer for d in cfg.layers) and cfg.layers[0]["kernel"] == 3  # defaults filled
    hash(cfg)  # caches key on configs
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and hash(again) == hash(cfg)
    assert TrainConfig(**asdict(cfg)) == cfg
    assert replace(cfg, lr=0.1).layers == cfg.layers
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_labels_count_each_type_and_are_unique():
    names = labels(from_text(LENET))
    assert names[:4] == ["Conv 1", "ReLU 1", "MaxPool 1", "Conv 2"] and names[-1] == "Linear 3"
    assert len(set(names)) == len(names)
    assert labels(from_text("residual_16,residual_32_s2,gap"))[:2] == ["Res 1", "Res 2"]


@pytest.mark.parametrize("text, words", [
    ("conv_8,convv_3", ["layer 2", "'convv'", "did you mean conv?"]),
    ("conv_3_q4", ["layer 1", "cannot read 'q4'", "kN"]),
    ("conv_3_3", ["layer 1", "cannot read '3'"]),
    ("relu,conv_8_k40", ["layer 2 (Conv 1)", "kernel 40 must be from 1 to 15"]),
    ("linear_-1", ["Linear 1", "out -1"]),
    ("conv_nan", ["cannot read 'nan'"]),
    ("gated_3_foo", ["cannot read 'foo'", "relu|"]),
    ("x" * 1300, ["at most 1,200 characters"]),
    (",".join(["relu"] * 65), ["at most 64 layers"]),
])
def test_bad_text_names_the_layer(text, words):
    with pytest.raises(SpecError) as e:
        from_text(text)
    assert isinstance(e.value, ParseError)  # the forms already catch that
    for w in words:
        assert w in str(e.value)


def test_hostile_dicts_get_a_message_per_layer_never_an_exception():
    hostile = [{"type": "conv", "kernel": 40}, {"type": "conv", "out": True}, {"type": "lin"}, 5,
               {"type": "relu", "x": 1}, {"type": "dropout", "p": float("nan")}, {"type": "linear", "out": 2.5},
               {"type": "conv", "out": {"nested": 1}}, {"type": ["conv"]}, {"type": "gated", "activation": "rm -rf"}]
    found = problems(hostile)
    assert len(found) == len(hostile)
    assert found[0] == "layer 1 (Conv 1): kernel 40 must be from 1 to 15"
    assert "layer 4 must be a dict" in found[3] and "no setting 'x'" in found[4]
    assert all(f.startswith("layer ") for f in found)
    assert problems("conv") and problems([{"type": "relu"}] * 65)
    assert problems(from_text(EVERY_TYPE)) == []
    cfg = TrainConfig(model="custom", layers=hostile)  # kept as it is, for validate() to name
    assert len(problems(cfg.layers)) == len(hostile)


def test_short_names_the_widths():
    assert netspec.short(from_text("conv_8_k3,relu,conv_16,flatten,linear_64,relu,linear")) == "c8-c16-l64"
    assert netspec.short(from_text(LENET)) == "c6-c16-l120-l84"
    assert netspec.short(from_text("conv_8,conv_8,conv_8,conv_8,conv_8,flatten,linear")) == "7 layers"


def test_huge_numbers_and_underscored_choices():
    assert problems([{"type": "conv", "out": 10**400}]) == ["layer 1 (Conv 1): out so large must be from 1 to 2048"]
    with pytest.raises(SpecError, match="cannot read"):
        from_text("conv_1" + "0" * 400)
    gated = from_text("gated_8_leakyrelu")
    assert gated[0]["activation"] == "leaky_relu" and from_text(to_text(gated)) == gated
