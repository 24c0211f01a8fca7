"""One input's prediction (nets/inspect/prediction.py): logits, probabilities, the top k and its rows."""
import numpy as np
import pytest
import torch
from torch import nn

from nets.inspect.prediction import Prediction, logits, probabilities, runner_up, top_k, top_k_rows

CLASSES = ["a", "b", "c", "d"]


def test_top_k():
    preds = top_k(torch.tensor([0.0, 3.0, 1.0, 2.0]), CLASSES, k=3)
    assert [p.label for p in preds] == ["b", "d", "c"] and preds[0].index == 1
    e = np.exp([0.0, 3.0, 1.0, 2.0])
    assert preds[0].probability == pytest.approx(e[1] / e.sum())
    all4 = top_k(np.array([[0.0, 3.0, 1.0, 2.0]]), CLASSES, k=10)
    assert len(all4) == 4 and abs(sum(p.probability for p in all4) - 1) < 1e-6
    assert [p.index for p in top_k(torch.zeros(4), CLASSES, k=4)] == [0, 1, 2, 3]   # ties: the earlier class first
    with pytest.raises(ValueError, match="3 logits but 2 class names"):
        top_k(torch.zeros(3), ["a", "b"])


def test_probabilities_of_large_scores_and_of_a_tensor_with_gradients():
    p = probabilities(torch.tensor([1000.0, 0.0, -1000.0], requires_grad=True))
    assert p.tolist() == pytest.approx([1.0, 0.0, 0.0]) and np.isfinite(p).all()


def test_runner_up_and_rows():
    preds = top_k(torch.tensor([0.0, 3.0, 1.0, 2.0]), CLASSES, k=2)
    assert runner_up(preds) == 3 and runner_up(preds[:1]) == 1
    assert top_k_rows(preds) == [{"class": "b", "probability": preds[0].probability},
                                 {"class": "d", "probability": preds[1].probability}]
    assert top_k_rows([Prediction(0, "x", 1.0)]) == [{"class": "x", "probability": 1.0}]


def test_logits_in_eval_mode_and_mode_restored():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(12, 3)).train()
    x = torch.randn(1, 3, 2, 2)
    z = logits(model, x)
    assert z.shape == (3,) and not z.requires_grad
    assert torch.equal(z, logits(model, x)) and model.training       # dropout was off, and is back on
