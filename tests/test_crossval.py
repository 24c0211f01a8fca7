"""nets.datalab.crossval: stratified seeded folds; out-of-sample probabilities truly out of sample (a fit
that memorises its training images shows no image is scored by a model that trained on it); the real
engine's clean step finds flipped labels on a tiny learnable set."""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from torch import nn

from nets.datalab import crossval
from nets.datalab.crossval import clean, folds, out_of_sample
from nets.engine.config import ConfigError, TrainConfig
from nets.engine.data import ImageData
from nets.status import Status


def test_folds_partition_the_set_stratified_and_seeded():
    y = torch.tensor([0] * 10 + [1] * 7 + [2] * 3)
    parts = folds(y, 3, seed=4)
    joined = torch.cat(parts)
    assert sorted(joined.tolist()) == list(range(20))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    for c in range(3):
        counts = [int((y[p] == c).sum()) for p in parts]
        assert max(counts) - min(counts) <= 1, (c, counts)
    assert all(torch.equal(a, b) for a, b in zip(parts, folds(y, 3, seed=4)))
    assert not all(torch.equal(a, b) for a, b in zip(parts, folds(y, 3, seed=5)))


@pytest.mark.parametrize("k, n, words", [(1, 20, "between 2 and 10"), (11, 20, "between 2 and 10"),
                                         (5, 3, "at least 5 training images")])
def test_folds_refuse_in_words(k, n, words):
    with pytest.raises(ConfigError, match=words):
        folds(torch.zeros(n, dtype=torch.long), k, 0)


def _numbered(n=60, c=3) -> ImageData:
    """Image i carries its own number in two pixels; with mean 0, std 1 the model sees x / 255."""
    ids = torch.arange(n)
    x = torch.stack([ids // 256, ids % 256], 1).to(torch.uint8).view(n, 1, 1, 2)
    y = ids % c
    return ImageData("numbered", [str(i) for i in range(c)], x, y, x[:4].clone(), y[:4].clone(),
                     mean=[0.0], std=[1.0])


class _Memoriser(nn.Module):
    """Certain of the label of every image it trained on, knows nothing (uniform) about the others."""

    def __init__(self, x_train, y_train, c):
        super().__init__()
        self.known = {int(a) * 256 + int(b): int(label) for (a, b), label in zip(x_train.view(-1, 2), y_train)}
        self.c, self.w = c, nn.Parameter(torch.zeros(1))

    def forward(self, x):
        ids = (x.view(len(x), 2) * 255).round().long()
        out = torch.zeros(len(x), self.c)
        for row, (a, b) in enumerate(ids.tolist()):
            if a * 256 + b in self.known:
                out[row, self.known[a * 256 + b]] = 50.0
        return out


def test_no_image_is_scored_by_a_model_that_trained_on_it(monkeypatch):
    data, trained, said = _numbered(), [], []

    def memorising_fit(model, fold_data, cfg, on_event=None, stop=None):
        trained.append(len(fold_data.x_train))
        finished = types.SimpleNamespace(reason=Status.COMPLETED)
        return types.SimpleNamespace(model=_Memoriser(fold_data.x_train, fold_data.y_train, 3), finished=finished)

    monkeypatch.setattr(crossval, "fit", memorising_fit)
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(4,), device="cpu", epochs=1)
    probs = out_of_sample(cfg, data, 4, on_progress=lambda text, f: said.append((text, f)))
    assert trained == [45] * 4                                    # each fold model trained on 3 of 4 folds
    assert probs.shape == (60, 3) and probs == pytest.approx(np.full((60, 3), 1 / 3))  # none scored itself
    in_sample = _Memoriser(data.x_train, data.y_train, 3)(data.x_train.float() / 255).softmax(1)
    assert (in_sample.argmax(1) == data.y_train).all()            # the memoriser would have told
    assert said[0] == ("Cross-validation: fold 1 of 4", 0.0) and ("Cross-validation: fold 4 of 4", 0.75) in said
    assert said[-1][1] == 1.0


def _quadrants(n=160, seed=0) -> tuple[ImageData, torch.Tensor]:
    """4 classes, each a bright quadrant on faint noise; 10% of the training labels moved one class on."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = torch.randint(0, 60, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    for i, c in enumerate(y.tolist()):
        x[i, 0, 4 * (c // 2):4 * (c // 2) + 4, 4 * (c % 2):4 * (c % 2) + 4] += 180
    flipped = torch.zeros(n, dtype=torch.bool)
    flipped[torch.randperm(n, generator=g)[:n // 10]] = True
    given = torch.where(flipped, (y + 1) % 4, y)
    data = ImageData("quadrants", list("abcd"), x, given, x[:40].clone(), y[:40].clone(), mean=[0.3], std=[0.3])
    data.y_train_true = y   # what prepare_data sets when a flip step ran
    return data, flipped


def test_the_real_engine_cleans_the_flipped_labels_away():
    data, flipped = _quadrants()
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), optimizer="adam", lr=0.03, epochs=8,
                      batch_size=32, device="cpu", seed=1)
    cleaned, check = clean(cfg, data, 3, index=torch.arange(1000, 1160))
    assert check.k == 3 and check.probs.shape == (160, 4) and np.allclose(check.probs.sum(1), 1, atol=1e-5)
    assert np.array_equal(check.true, data.y_train_true.numpy()) and np.array_equal(check.flipped, flipped.numpy())
    precision, recall = check.precision_recall()
    assert precision >= 0.8 and recall >= 0.8, check.summary()
    kept = ~check.flagged
    assert len(cleaned.x_train) == kept.sum() and torch.equal(cleaned.y_train, data.y_train[torch.from_numpy(kept)])
    assert torch.equal(cleaned.y_train_true, data.y_train_true[torch.from_numpy(kept)])
    assert check.index[0] == 1000 and cleaned.x_test is data.x_test
