"""The builder's networks: copies of the built-ins that load their weights, the templates, the residual
block against torchvision's, the labels, and netshape's arithmetic against the built network and torchinfo."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from netspec_tools import SHAPES, valid_specs
from nets.engine import netbuild, netshape
from nets.engine.layers import Residual
from nets.engine.models import ModelError, build_model, count_params, model_defaults
from nets.engine.netspec import from_text, labels, to_text

# Built-ins with the options that change their layers: the copy has the same weight names and shapes.
COPIES = [
    ("mlp", (1, 28, 28), {}),
    ("mlp", (1, 28, 28), dict(hidden=(32, 16), batch_norm=True, dropout=0.1, activation="sigmoid")),
    ("lenet", (1, 28, 28), {}),
    ("lenet", (3, 32, 32), dict(batch_norm=True, activation="tanh", dropout=0.2)),
    ("cnn5", (3, 32, 32), dict(channels=(4, 8), fc=(16,), batch_norm=True, dropout=0.2, activation="gelu")),
    ("cnn5", (1, 28, 28), dict(channels=(4, 8), fc=())),
    ("gated-cnn", (1, 28, 28), dict(channels=(4, 8), fc=(16, 12), activation="leaky_relu")),
]


def keys_and_shapes(net: nn.Module) -> list:
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items()]


@pytest.mark.parametrize("name,shape,options", COPIES, ids=lambda v: v if isinstance(v, str) else None)
def test_a_copy_loads_the_built_ins_weights_and_computes_the_same(name, shape, options):
    torch.manual_seed(0)
    original = build_model(name, shape, 7, **options).eval()
    copy = build_model("custom", shape, 7, layers=netbuild.copy_of(name, options, shape)).eval()
    assert keys_and_shapes(copy) == keys_and_shapes(original)
    copy.load_state_dict(original.state_dict(), strict=True)
    x = torch.randn(3, *shape)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), original(x), rtol=0, atol=1e-6)


def test_the_copies_know_the_built_ins_defaults():
    for name, defaults in netbuild.COPY_DEFAULTS.items():
        assert defaults == model_defaults(name), name


@pytest.mark.parametrize("key", ["mlp", "lenet", "cnn5", "gated-cnn"])
def test_a_built_in_template_is_the_built_in_with_its_defaults(key):
    shape = (1, 28, 28)
    layers = netbuild.template(key, shape)
    assert layers == netbuild.copy_of(key, {}, shape) and layers[-1] == {"type": "linear", "out": 0, "in": 0}
    with torch.device("meta"):
        assert keys_and_shapes(build_model("custom", shape, 10, layers=layers)) == \
            keys_and_shapes(build_model(key, shape, 10))


def test_lenet_as_text():
    assert to_text(netbuild.template("lenet", (1, 28, 28))) == \
        "conv_10_k5,maxpool_2,relu,conv_20_k5,dropout2d_0.5,maxpool_2,relu,flatten,linear"


def meta_count(name, shape, **options) -> int:
    with torch.device("meta"):
        return count_params(build_model(name, shape, 10, **options))


def test_the_resnet_18_template_has_resnet_18s_parameters_and_stages():
    layers = netbuild.template("resnet18", (3, 32, 32))
    assert to_text(layers).startswith("conv_64_p1_nobias,batchnorm,relu,residual_64,residual_64,residual_128_s2")
    analysis = netshape.analyse(layers, (3, 32, 32), 10)
    assert analysis.ok and analysis.params == 11_173_962 == meta_count("custom", (3, 32, 32), layers=layers)
    assert meta_count("resnet18", (3, 32, 32)) == 11_173_962  # the small stem
    stages = [r.out_shape for r in analysis.rows if r.type == "residual"]
    assert stages == [(64, 32, 32)] * 2 + [(128, 16, 16)] * 2 + [(256, 8, 8)] * 2 + [(512, 4, 4)] * 2


@pytest.mark.parametrize("name,shape,options", [
    ("resnet34", (3, 32, 32), {}),
    ("resnet18", (1, 96, 96), {}),  # the 7×7 stem with its max-pool
    ("resnet18", (3, 32, 32), dict(dropout=0.2, block_dropout=0.1, small_stem=False)),
])
def test_a_resnet_copy_has_the_same_parameter_count(name, shape, options):
    layers = netbuild.copy_of(name, options, shape)
    assert meta_count("custom", shape, layers=layers) == meta_count(name, shape, **options)
    assert netshape.analyse(layers, shape, 10).out_shape == (10,)


def test_what_cannot_be_copied_says_why():
    for name, options in [("resnet18", dict(pretrained=True)), ("resnet34", dict(input_size=64)),
                          ("mlp", dict(activation="linear")), ("vgg", {}), ("lenet", dict(hidden=(3,))),
                          ("mlp", dict(dropout=0.95))]:
        with pytest.raises(ModelError):
            netbuild.copy_of(name, options, (3, 32, 32))
    spec = from_text("conv_4,flatten,linear")
    assert netbuild.copy_of("custom", {"layers": spec}, (1, 28, 28)) == spec
    assert netbuild.copy_of("custom", {}, (1, 28, 28)) == netbuild.DEFAULT_LAYERS
    with pytest.raises(ModelError, match="No template"):
        netbuild.template("vgg", (3, 32, 32))
    assert netbuild.template("empty", (3, 32, 32)) == () and set(netbuild.TEMPLATES) >= {"empty", "small-resnet"}


@pytest.mark.parametrize("c_in,c_out,stride", [(8, 8, 1), (8, 16, 2), (8, 16, 1), (8, 8, 2)])
def test_the_residual_block_is_torchvisions_basic_block(c_in, c_out, stride):
    from torchvision.models.resnet import BasicBlock
    down = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out else None)
    theirs, ours = BasicBlock(c_in, c_out, stride, down).eval(), Residual(c_in, c_out, stride).eval()
    names = {"conv1": "conv_a", "bn1": "bn_a", "conv2": "conv_b", "bn2": "bn_b", "downsample": "shortcut"}
    renamed = {names[k.split(".")[0]] + k[len(k.split(".")[0]):]: v for k, v in theirs.state_dict().items()}
    ours.load_state_dict(renamed, strict=True)
    assert count_params(ours) == count_params(theirs)
    x = torch.randn(2, c_in, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-6)


def test_layer_labels_name_every_module_by_the_builders_label():
    layers = from_text("conv_8_k3_p1,relu,gated_8_tanh,residual_8,residual_16_s2,gap,flatten,linear")
    net = netbuild.build(layers, (3, 16, 16), 10)
    top = {k: v for k, v in net.layer_labels.items() if "." not in k}
    assert list(top.values()) == labels(layers) and list(top) == [str(i) for i in range(len(layers))]
    assert net.layer_labels["2.branch_a"] == "Gated 1 · branch a" and net.layer_labels["2.gate"] == "Gated 1 · gate"
    assert net.layer_labels["3.conv_a"] == "Res 1 · conv a" and net.layer_labels["4.act_b"] == "Res 2 · act b"
    assert net.layer_labels["4.shortcut.0"] == "Res 2 · shortcut" and "3.shortcut.0" not in net.layer_labels
    named = {name for name, m in net.named_modules() if name and not next(m.children(), None)}
    assert named <= set(net.layer_labels) and len(set(net.layer_labels.values())) == len(net.layer_labels)


def test_a_network_that_does_not_fit_is_refused_with_its_fix():
    with pytest.raises(ModelError, match="Linear 1 gets a 6×26×26 map.*: insert Flatten before Linear 1"):
        build_model("custom", (1, 28, 28), 10, layers=from_text("conv_6,relu,linear"))
    net = build_model("custom", (1, 28, 28), 10, layers=from_text("flatten,linear_5,relu,linear_10_i5"))
    assert [type(m).__name__ for m in net] == ["Flatten", "Linear", "ReLU", "Linear"] and net[3].in_features == 5


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.sampled_from(SHAPES).flatmap(lambda shape: st.tuples(st.just(shape), valid_specs(shape))))
def test_the_arithmetic_is_the_built_network_and_torchinfo(case):
    """For random valid networks: netshape's rows = the meta-device build's parameters per layer =
    torchinfo's output shape and parameters per layer (a real forward pass of one image, in eval mode)."""
    import torchinfo
    shape, layers = case
    analysis = netshape.analyse(layers, shape, 10)
    assert analysis.ok, (to_text(layers), analysis.problems)
    with torch.device("meta"):
        meta = netbuild.build(layers, shape, 10)
    assert [r.params for r in analysis.rows] == [count_params(m) for m in meta]
    info = torchinfo.summary(netbuild.build(layers, shape, 10), input_size=(1, *shape), mode="eval", depth=1,
                             verbose=0)
    top = [row for row in info.summary_list if row.depth == 1]
    assert [tuple(row.output_size[1:]) for row in top] == [r.out_shape for r in analysis.rows], to_text(layers)
    assert [row.num_params for row in top] == [r.params for r in analysis.rows], to_text(layers)
    assert info.total_params == analysis.params and analysis.out_shape == (10,)


@pytest.mark.slow
def test_a_custom_network_trains_reloads_and_exports(tmp_path):
    from nets.engine.config import TrainConfig
    from nets.experiment import run_training
    from nets.export.model_source import check_source, model_source
    from nets.runs import get_run, load_model
    layers = from_text("conv_4_k3_p1,batchnorm,relu,maxpool_2,residual_8_s2,gap,flatten,linear")
    cfg = TrainConfig(dataset="mnist-mini", model="custom", layers=layers, epochs=1, train_per_class=20,
                      batch_size=32, optimizer="adam", lr=1e-3)
    run = get_run(tmp_path, run_training(cfg, checkpoints=tmp_path).run_id)
    assert run.config.layers == layers
    model = load_model(run)
    net = check_source(model_source(run.info), model.state_dict())
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(net(x), model(x), rtol=0, atol=1e-5)
