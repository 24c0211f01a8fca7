import pytest
import torch
from torch import nn
from torchvision.models import resnet18, resnet34

from nets.inspect.summary import LayerRow, Summary, summarize


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def lenet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(10, 20, 5), nn.Dropout2d(), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(320, 10),
    )


def assert_consistent(s: Summary, model: nn.Module) -> None:
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in s.rows) == s.total_params
    assert sum(r.trainable for r in s.rows) == s.trainable_params


@pytest.fixture(scope="module")
def resnet18_summary():
    model = resnet18(num_classes=1000, weights=None)
    return model, summarize(model, (3, 224, 224))


def test_resnet18_totals(resnet18_summary):
    model, s = resnet18_summary
    assert s.total_params == 11_689_512
    assert s.trainable_params == 11_689_512
    assert_consistent(s, model)
    assert s.input_size == (3, 224, 224)
    assert s.output_size == (1000,)
    assert s.rows[0] == LayerRow("conv1", "Conv2d", (3, 224, 224), (64, 112, 112), 9408, 9408)
    assert s.rows[-1] == LayerRow("fc", "Linear", (512,), (1000,), 513_000, 513_000)


def test_resnet18_reused_relu_gets_a_row_per_call(resnet18_summary):
    _, s = resnet18_summary
    names = [r.name for r in s.rows]
    assert names.count("layer1.0.relu") == 2  # BasicBlock calls self.relu twice
    assert max(names.count(n) for n in names if n.endswith("relu")) > 1


def test_resnet34_total():
    model = resnet34(weights=None)
    s = summarize(model, (3, 64, 64))  # parameter counts do not depend on the input size
    assert s.total_params == 21_797_672
    assert_consistent(s, model)


def test_mlp_exact_rows():
    model = mlp()
    s = summarize(model, (1, 28, 28))
    assert s.rows == [
        LayerRow("0", "Flatten", (1, 28, 28), (784,), 0, 0),
        LayerRow("1", "Linear", (784,), (128,), 100_480, 100_480),
        LayerRow("2", "ReLU", (128,), (128,), 0, 0),
        LayerRow("3", "Linear", (128,), (10,), 1290, 1290),
    ]
    assert s.total_params == 101_770
    assert s.output_size == (10,)


def test_lenet():
    model = lenet()
    s = summarize(model, (1, 28, 28))
    assert s.total_params == 8490
    assert_consistent(s, model)
    by_name = {r.name: r for r in s.rows}
    assert by_name["0"].output_size == (10, 24, 24)
    assert by_name["3"].output_size == (20, 8, 8)
    assert by_name["7"].output_size == (320,)
    assert [r.params for r in s.rows if r.params] == [260, 5020, 3210]


def test_frozen_layer_changes_trainable_not_total():
    model = mlp()
    model[1].requires_grad_(False)
    s = summarize(model, (1, 28, 28))
    assert s.total_params == 101_770
    assert s.trainable_params == 1290
    assert s.rows[1].params == 100_480 and s.rows[1].trainable == 0
    assert_consistent(s, model)


def test_training_mode_restored_per_module():
    model = lenet()
    model.train()
    model[4].eval()  # a deliberately mixed state must survive too
    summarize(model, (1, 28, 28))
    assert model.training
    assert [m.training for m in model] == [True] * 4 + [False] + [True] * 4
    model.eval()
    summarize(model, (1, 28, 28))
    assert not any(m.training for m in model.modules())


def test_hooks_removed_even_when_forward_raises():
    model = mlp()
    with pytest.raises(RuntimeError):
        summarize(model, (3, 32, 32))  # 3072 features into Linear(784, ...)
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    assert model.training
    s = summarize(model, (1, 28, 28))  # and a later call still works
    assert s.total_params == 101_770
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks


class Twice(nn.Module):
    """Calls the same Linear twice, owns a parameter directly and has a layer it never calls."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))
        self.fc = nn.Linear(4, 4)
        self.unused = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.fc(x)) * self.scale


def test_module_called_twice_counted_once_and_unused_listed():
    model = Twice()
    s = summarize(model, (4,))
    assert [(r.name, r.params) for r in s.rows] == [
        ("(model)", 4), ("fc", 20), ("fc", 0), ("unused", 10)]
    assert s.rows[-1].input_size == () and s.rows[-1].output_size == ()
    assert s.total_params == 34
    assert_consistent(s, model)


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1])


def test_tuple_outputs_use_first_tensor():
    s = summarize(TupleOut(), (5, 8))
    lstm = s.rows[0]
    assert (lstm.input_size, lstm.output_size) == ((5, 8), (5, 16))
    assert s.output_size == (3,)


def test_records_and_str():
    s = summarize(mlp(), (1, 28, 28))
    recs = s.records()
    assert len(recs) == 4
    assert list(recs[0]) == ["layer", "type", "input size", "output size", "params", "trainable"]
    assert recs[0]["input size"] == "1×28×28" and recs[0]["output size"] == "784"
    text = str(s)
    assert "101,770" in text and "Linear" in text and "1×28×28" in text
