"""nets/playground/fast.py: the NumPy training equals the PyTorch path (train.torch_step) on fixed seeds,
and its rule equals TF Playground's per-example loop (src/nn.ts: forwardProp, backProp, updateWeights)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from nets.playground import fast
from nets.playground import features as feats
from nets.playground.state import PlaygroundConfig, new_state
from nets.playground.train import torch_losses, torch_step

RTOL = 1e-6


class NumpyDropout(nn.Module):
    """nn.Dropout with its masks drawn as fast.FastNet draws them, so both paths drop the same units."""

    def __init__(self, p, rng):
        super().__init__()
        self.p, self.rng = p, rng

    def forward(self, x):
        if not self.training:
            return x
        mask = (self.rng.random(tuple(x.shape)) >= self.p) / (1.0 - self.p)
        return x * torch.from_numpy(mask).to(x.dtype)


def torch_path(cfg, n_batches, seed=0, double=True, dropout_seed=7):
    """The PyTorch path (train.torch_step, what the page ran before fast.py); in float64 when double (the
    rule without float32 rounding)."""
    state = new_state(cfg, seed)
    if cfg.net.dropout:
        rng = np.random.default_rng(dropout_seed)
        for block in state.model.hidden:
            block[-1] = NumpyDropout(cfg.net.dropout, rng)
    if double:
        state.model.double()
        state.train_x = feats.columns(state.data.train_x, cfg.features, torch.float64)
        state.test_x = feats.columns(state.data.test_x, cfg.features, torch.float64)
        state.train_y, state.test_y = state.train_y.double(), state.test_y.double()
    torch_step(state, n_batches, keep=False)
    return state


def fast_path(cfg, n_batches, seed=0, dropout_seed=7):
    state = new_state(cfg, seed)
    net = fast.FastNet.from_model(state.model, dropout_seed)
    fast.step(state, net, n_batches)
    return state, net


def assert_same(cfg, n_batches, rtol=RTOL, atol=1e-9, double=True):
    want = torch_path(cfg, n_batches, double=double)
    state, net = fast_path(cfg, n_batches)
    assert (state.epoch, state.position, state.batches) == (want.epoch, want.position, want.batches)
    assert torch.equal(state.order, want.order)
    got_model = new_state(cfg, 0).model
    net.to_model(got_model)
    for (name, p), q in zip(got_model.state_dict().items(), want.model.state_dict().values()):
        np.testing.assert_allclose(p.double().numpy(), q.double().numpy(), rtol=rtol, atol=atol, err_msg=name)
    x, y = fast.inputs(state)
    got_train = net.data_loss(net.forward(x)[0], y)
    want_train = torch_losses(want)[0]
    assert math.isclose(got_train, want_train, rel_tol=rtol, abs_tol=atol)
    return got_train


def config(**changes):
    return PlaygroundConfig().changed(**changes)


CASES = {
    "circle 4-2 tanh (TF's default)": config(),
    "xor 4-2 tanh": config(dataset="xor", noise=10),
    "gauss 4-2 tanh": config(dataset="gauss", noise=20),
    "spiral 7 inputs 6x8 tanh": config(dataset="spiral", features=tuple(feats.FEATURES), hidden=(8,) * 6),
    "circle relu lr 0.1": config(activation="relu", learning_rate=0.1),
    "xor sigmoid batch 7": config(dataset="xor", activation="sigmoid", batch_size=7, learning_rate=0.3),
    "xor linear x1x2": config(dataset="xor", activation="linear", features=("x1", "x2", "x1x2")),
    "circle L1": config(regularization="L1", reg_rate=0.01),
    "spiral L2": config(dataset="spiral", regularization="L2", reg_rate=0.03, hidden=(6, 6)),
    "circle cross-entropy": config(loss="cross-entropy", learning_rate=0.1),
    "spiral-k 4 classes cross-entropy": config(dataset="spiral-k", classes=4, loss="cross-entropy",
                                                hidden=(8, 8)),
    "blobs-k 3 classes squared": config(dataset="blobs-k", classes=3, learning_rate=0.3),
    "plane regression": config(dataset="plane", noise=10, hidden=(3,)),
    "multigauss regression batch 30": config(dataset="multigauss", batch_size=30, hidden=(8, 4)),
    "no hidden layer": config(hidden=(), features=("x1^2", "x2^2")),
    "batch norm": config(batch_norm=True, hidden=(5, 3)),
    "dropout": config(dropout=0.3, hidden=(6, 4), dataset="xor"),
    "batch norm, dropout, L2, 3 classes": config(dataset="blobs-k", batch_norm=True, dropout=0.2,
                                                  regularization="L2", reg_rate=0.01, batch_size=16),
    "short last batch (train 33%, batch 30)": config(train_percent=33, batch_size=30),
}


@pytest.mark.parametrize("name", CASES)
def test_equals_todays_path_in_float64(name):
    """Three epochs and a bit (new shuffles, dropped short batches) land on the same weights and losses."""
    cfg = CASES[name]
    n = len(new_state(cfg).train_y) // cfg.batch_size
    loss = assert_same(cfg, 3 * n + 2)
    assert np.isfinite(loss)


@pytest.mark.parametrize("name", ["circle 4-2 tanh (TF's default)", "spiral 7 inputs 6x8 tanh",
                                  "spiral-k 4 classes cross-entropy"])
def test_close_to_todays_float32_path(name):
    """Today's page trains in float32: twenty batches later the float64 steps are still within 1e-4."""
    assert_same(CASES[name], 20, rtol=1e-4, atol=1e-5, double=False)


def test_trains_the_default_circle():
    state, net = fast_path(config(), 25 * 100)
    x, y = fast.inputs(state)
    assert state.epoch == 99 and net.data_loss(net.forward(x)[0], y) < 0.02


def tf_per_example(W, b, points, labels, lr, batch, activation):
    """TF Playground's oneStep over a fixed order, node by node as src/nn.ts: forwardProp and backProp
    per example (squared error ½(a − y)², tanh output), derivatives accumulated, and updateWeights every
    `batch` examples: w −= lr·accErrorDer/numAccumulatedDers (no regularisation). W[l] is [dest][source]."""
    f = {"tanh": math.tanh, "relu": lambda v: max(0.0, v), "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
         "linear": lambda v: v}
    der = {"tanh": lambda v: 1 - math.tanh(v) ** 2, "relu": lambda v: 0.0 if v <= 0 else 1.0,
           "sigmoid": lambda v: f["sigmoid"](v) * (1 - f["sigmoid"](v)), "linear": lambda v: 1.0}
    L = len(W)
    acc_w = [[[0.0] * len(W[l][j]) for j in range(len(W[l]))] for l in range(L)]
    acc_b = [[0.0] * len(b[l]) for l in range(L)]
    count = 0
    for i, (point, target) in enumerate(zip(points, labels)):
        outs, totals = [list(point)], []
        for l in range(L):  # forwardProp
            total = [b[l][j] + sum(W[l][j][s] * outs[-1][s] for s in range(len(outs[-1]))) for j in range(len(W[l]))]
            act = f["tanh"] if l == L - 1 else f[activation]
            totals.append(total)
            outs.append([act(t) for t in total])
        output_der = [outs[-1][0] - target]  # backProp: Errors.SQUARE.der
        for l in range(L - 1, -1, -1):
            d = der["tanh"] if l == L - 1 else der[activation]
            input_der = [output_der[j] * d(totals[l][j]) for j in range(len(W[l]))]
            for j in range(len(W[l])):
                acc_b[l][j] += input_der[j]
                for s in range(len(W[l][j])):
                    acc_w[l][j][s] += input_der[j] * outs[l][s]
            output_der = [sum(W[l][j][s] * input_der[j] for j in range(len(W[l]))) for s in range(len(outs[l]))]
        count += 1
        if (i + 1) % batch == 0:  # updateWeights
            for l in range(L):
                for j in range(len(W[l])):
                    b[l][j] -= lr * acc_b[l][j] / count
                    acc_b[l][j] = 0.0
                    for s in range(len(W[l][j])):
                        W[l][j][s] -= (lr / count) * acc_w[l][j][s]
                        acc_w[l][j][s] = 0.0
            count = 0
    return W, b


@pytest.mark.parametrize("dataset", ["circle", "xor", "gauss", "spiral"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rule_equals_tf_playground_per_example_loop(dataset, activation):
    """Two epochs over a fixed order (TF keeps its order) on the four classification datasets."""
    cfg = config(dataset=dataset, noise=15, activation=activation, hidden=(4, 2), learning_rate=0.03,
                 features=("x1", "x2", "x1^2", "sin x2"))
    state = new_state(cfg, 3)
    net = fast.FastNet.from_model(state.model)
    x, y = fast.inputs(state)
    W = [w.T.tolist() for w in net.W]
    b = [v.tolist() for v in net.b]
    batch = cfg.batch_size
    for _ in range(2):
        W, b = tf_per_example(W, b, x[:, :-1].tolist(), y.tolist(), cfg.learning_rate, batch, activation)
        for k in range(len(y) // batch):
            net.sgd_step(x[k * batch:(k + 1) * batch], y[k * batch:(k + 1) * batch], cfg.learning_rate)
    for got, want in zip(net.W, W):
        np.testing.assert_allclose(got.T, np.array(want), rtol=1e-9, atol=1e-12)
    for got, want in zip(net.b, b):
        np.testing.assert_allclose(got, np.array(want), rtol=1e-9, atol=1e-12)
    assert not np.allclose(net.W[0], state.model.hidden[0][0].weight.detach().numpy().T)  # it moved


def test_round_trip_to_the_model():
    cfg = config(batch_norm=True, hidden=(3, 2))
    state = new_state(cfg, 5)
    net = fast.FastNet.from_model(state.model)
    fast.step(state, net, 30)
    net.to_model(state.model)
    again = fast.FastNet.from_model(state.model)
    for a, b_ in zip(net.W + net.b, again.W + again.b):
        assert np.array_equal(a.astype(np.float32), b_)  # the page's model is float32
    assert again.bn[0]["count"] == 30 and np.array_equal(again.bn[1]["var"], net.bn[1]["var"].astype(np.float32))


def test_the_page_trains_with_fast_and_the_model_follows():
    """train.step (what Play and Step run) trains state.net; state.model shows the same weights in float32,
    and losses() read from the net equal the model's own within float32 rounding."""
    from nets.playground import edges
    from nets.playground.model import flat_weights
    from nets.playground.train import edit_weight, losses, step
    cfg = config(dataset="xor", hidden=(4, 2))
    state, want = new_state(cfg, 2), torch_path(cfg, 60, seed=2)
    step(state, 60)
    np.testing.assert_allclose(flat_weights(state.model), flat_weights(want.model), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(losses(state), torch_losses(state), rtol=1e-5)
    assert len(state.history) == 1 and state.history[-1][1:] == losses(state)
    w = next(w for w in edges.listing(state.model, cfg.features) if w.layer == 1 and w.src == 2 and w.dst == 1)
    edit_weight(state, w, 2.5)  # a weight set by hand: training goes on from it, not from the old one
    assert state.net.W[1][2, 1] == 2.5
    step(state, 0)
    assert edges.value(state.model, w) == 2.5
    step(state, 1)
    assert abs(state.net.W[1][2, 1] - 2.5) < 0.1
