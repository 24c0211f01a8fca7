import pytest
import torch
from torch import nn

from nets.engine.models import (DEFAULT_LAYERS, MODELS, GatedConv, ModelError, build_model, count_params,
                                is_convolutional, model_options)
from nets.inspect.summary import summarize


@pytest.mark.parametrize("name,shape,options,params", [
    ("lenet", (1, 28, 28), {}, 8_490),
    ("mlp", (1, 28, 28), {}, 101_770),                      # 784-128-10
    ("mlp", (1, 28, 28), {"hidden": (256, 128, 64)}, 242_762),
    ("cnn5", (3, 32, 32), {}, 497_738),
    ("custom", (1, 28, 28), {}, 7_850),                     # empty: Flatten → Linear, 784·10 + 10
])
def test_known_parameter_counts(name, shape, options, params):
    model = build_model(name, shape, 10, **options)
    assert count_params(model) == params
    assert summarize(model, shape).total_params == params


def test_lenet_layer_table_matches_the_coursework():
    rows = summarize(build_model("lenet", (1, 28, 28), 10), (1, 28, 28)).rows
    convs = [r for r in rows if r.type == "Conv2d"]
    assert [r.output_size for r in convs] == [(10, 24, 24), (20, 8, 8)]
    assert [r.params for r in convs] == [260, 5_020]
    assert rows[-1].type == "Linear" and rows[-1].input_size == (320,) and rows[-1].params == 3_210


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_every_model_builds_and_runs(name, shape):
    model = build_model(name, shape, 7).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert out.shape == (2, 7)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "sigmoid", "tanh", "linear", "gelu"])
def test_mlp_activations_dropout_batchnorm(act):
    m = build_model("mlp", (1, 28, 28), 10, hidden=(32, 16), activation=act, dropout=0.2, batch_norm=True)
    types = [type(x).__name__ for x in m]
    assert types.count("BatchNorm1d") == 2 and types.count("Dropout") == 2
    assert m(torch.randn(4, 1, 28, 28)).shape == (4, 10)


def test_a_custom_network_is_convolutional_only_with_a_convolution():
    assert not is_convolutional(build_model("custom", (1, 28, 28), 10))
    from nets.engine.netspec import from_text
    assert is_convolutional(build_model("custom", (1, 28, 28), 10, layers=from_text("conv_4,flatten,linear")))


def test_lenet_activation_is_selectable():
    m = build_model("lenet", (1, 28, 28), 10, activation="tanh")
    assert sum(isinstance(x, nn.Tanh) for x in m) == 2 and not any(isinstance(x, nn.ReLU) for x in m)


def test_resnet_stems():
    small = build_model("resnet18", (1, 32, 32), 10)
    assert small.conv1.kernel_size == (3, 3) and small.conv1.in_channels == 1
    assert isinstance(small.maxpool, nn.Identity)
    big = build_model("resnet18", (1, 224, 224), 10)
    assert big.conv1.kernel_size == (7, 7) and big.conv1.in_channels == 1
    stock = build_model("resnet18", (3, 224, 224), 1000, small_stem=False)
    assert count_params(stock) == 11_689_512


def test_gated_conv_mixes_two_branches_with_softmax_weights():
    g = GatedConv(3, 4)
    x = torch.randn(5, 3, 12, 12)
    w = torch.softmax(g.gate(x.mean((2, 3))), 1)
    expected = g.act(w[:, 0, None, None, None] * g.branch_a(x) + w[:, 1, None, None, None] * g.branch_b(x))
    assert torch.allclose(g(x), expected)
    assert torch.allclose(w.sum(1), torch.ones(5))


def test_bad_options_are_explained():
    with pytest.raises(ModelError, match="has no option"):
        build_model("lenet", (1, 28, 28), 10, hidden=(3,))
    with pytest.raises(ModelError, match="Unknown activation"):
        build_model("mlp", (1, 28, 28), 10, activation="swishy")
    with pytest.raises(ModelError, match="Dropout"):
        build_model("mlp", (1, 28, 28), 10, dropout=1.5)
    with pytest.raises(ModelError, match="at least 12"):
        build_model("lenet", (1, 8, 8), 10)
    with pytest.raises(ModelError, match="two channel counts"):
        build_model("cnn5", (3, 32, 32), 10, channels=(8,))
    with pytest.raises(ModelError, match="Unknown model"):
        model_options("vgg")


# ------------------------------------------------------------------------ the one option table
def test_every_model_option_is_in_the_one_table():
    """What a builder takes (and its default) is its signature; how an option is edited, read and
    checked is its row in nets.engine.options; the config has a field for each."""
    from dataclasses import fields

    from nets.engine.config import TrainConfig
    from nets.engine.models import model_defaults
    from nets.engine.options import OPTIONS
    taken = {opt for name in MODELS for opt in model_defaults(name)}
    assert taken == {name for name, o in OPTIONS.items() if o.per_model}
    assert set(OPTIONS) <= {f.name for f in fields(TrainConfig)}
    for name in MODELS:  # every default reads back through its widget as itself
        for opt, default in model_defaults(name).items():
            assert OPTIONS[opt].read(OPTIONS[opt].shown(default)) == default, (name, opt)


def test_every_option_has_a_validation_rule():
    from dataclasses import replace

    from nets.engine.config import ConfigError, TrainConfig, validate
    from nets.engine.models import model_defaults
    from nets.engine.options import OPTIONS
    for name, o in OPTIONS.items():
        model = next(m for m in MODELS if name in model_defaults(m)) if o.per_model else "mlp"
        bad = {"sizes": (0,), "choice": "no-such-choice", "int": (o.hi or 0) + 1,
               "float": (o.hi or 0) + 0.05, "bool": None, "layers": ({"type": "conv", "kernel": 40},)}[o.kind]
        if bad is not None:  # a layer list's message names the layer ("layer 1 (Conv 1): kernel 40 ...")
            with pytest.raises(ConfigError, match="layer 1 \\(Conv 1\\)" if o.kind == "layers" else o.noun):
                validate(TrainConfig(model=model, **{name: bad}))
        others = [m for m in MODELS if name not in model_defaults(m)]
        if o.per_model and others:  # set on a model that does not take it: refused, not silently dropped
            unset = TrainConfig.__dataclass_fields__[name].default
            value = ((8,) if o.kind == "sizes" else True if o.kind == "bool" else DEFAULT_LAYERS
                     if o.kind == "layers" else o.hi if o.kind != "choice"
                     else next(v for v in o.choices.values() if v != unset))
            with pytest.raises(ConfigError, match="has no option"):
                validate(replace(TrainConfig(), model=others[0], **{name: value}))


def test_the_coursework_cnns_are_the_conv_models_without_imagenet_weights():
    from nets.engine.models import CNN_MODELS, CONV_MODELS
    from nets.engine.pretrained import ARCHES
    assert CNN_MODELS == ("lenet", "cnn5", "gated-cnn")  # not custom: it may be an MLP or a ResNet-18
    assert set(CNN_MODELS) | set(ARCHES) | {"custom", "airbench"} == set(CONV_MODELS)


def test_parameters_are_counted_without_building_the_weights():
    from nets.engine.models import parameter_counts
    for name in MODELS:  # all trainable but airbench's frozen whitening filters and batch-norm scales
        net = build_model(name, (3, 32, 32), 7)
        assert parameter_counts(name, (3, 32, 32), 7) == (count_params(net), count_params(net, trainable_only=True))
    # 16 layers of 16,384 units: 17 GB of weights if built, a count on the 'meta' device
    total, _ = parameter_counts("mlp", (1, 28, 28), 10, hidden=(16_384,) * 16)
    assert total == (784 + 1) * 16_384 + 15 * (16_384 + 1) * 16_384 + (16_384 + 1) * 10
    frozen = parameter_counts("resnet18", (3, 32, 32), 10, pretrained=True, train_blocks=0)
    assert frozen == (count_params(build_model("resnet18", (3, 32, 32), 10, small_stem=False)), 512 * 10 + 10)
