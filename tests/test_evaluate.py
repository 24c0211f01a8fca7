import pytest
import torch
from torch import nn

from nets.engine.evaluate import Evaluation, confusion_matrix, evaluate, predict_logits


def make_eval():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    preds = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1, 1, 0])
    probs = torch.nn.functional.one_hot(preds, 3).float() * 0.7 + 0.1  # rows (0.8, 0.1, 0.1)
    return Evaluation(0.5, 0.6, labels, preds, probs, ["a", "b", "c"])


def test_confusion_and_per_class():
    e = make_eval()
    assert e.confusion.tolist() == [[3, 1, 0], [0, 3, 0], [1, 2, 0]]
    assert e.per_class_accuracy() == pytest.approx([0.75, 1.0, 0.0])
    assert e.best_class() == ("b", 1.0) and e.worst_class() == ("c", 0.0)
    assert e.most_confused(2) == [("c", "b", 2), ("a", "b", 1)]


def test_samples_and_mistakes():
    e = make_eval()
    first = e.first_predictions(2)
    assert first[0] == {"index": 0, "true": "a", "predicted": "a", "confidence": pytest.approx(0.8),
                        "correct": True}
    assert [m["index"] for m in e.first_mistakes(10)] == [3, 7, 8, 9]
    assert e.mistakes.tolist() == [3, 7, 8, 9] and len(e.mistakes) == round((1 - e.accuracy) * len(e.labels))
    assert e.indices_of(2, 1).tolist() == [7, 8]


def test_confusion_matrix_counts():
    cm = confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), 2)
    assert cm.tolist() == [[0, 1], [1, 1]]


class Pick(nn.Module):
    """logits = the first k pixels: a model whose answers we know in advance."""

    def forward(self, x):
        return x.flatten(1)[:, :3]


def test_evaluate_normalises_and_scores():
    x = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    x[0, 0, 0, 0] = x[1, 0, 0, 1] = x[2, 0, 1, 0] = x[3, 0, 0, 0] = 255
    y = torch.tensor([0, 1, 2, 1])
    model = Pick()
    model.register_parameter("w", nn.Parameter(torch.zeros(1)))  # gives it a device
    logits = predict_logits(model, x, [0.5], [0.5], batch_size=3)
    assert logits[0].tolist() == [1.0, -1.0, -1.0]  # (255/255 − 0.5) / 0.5 = 1
    e = evaluate(model, x, y, [0.5], [0.5], ["a", "b", "c"], batch_size=3)
    assert e.accuracy == pytest.approx(0.75)
    assert e.predictions.tolist() == [0, 1, 2, 0]
    assert e.loss == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item())
    assert torch.allclose(e.probabilities.sum(1), torch.ones(4))
    mse = evaluate(model, x, y, [0.5], [0.5], ["a", "b", "c"], loss="mse")
    assert 0 < mse.loss < 1


def test_evaluate_empty_split():
    with pytest.raises(ValueError, match="empty"):
        evaluate(Pick(), torch.zeros(0, 1, 2, 2, dtype=torch.uint8), torch.zeros(0, dtype=torch.long),
                 [0.5], [0.5], ["a"])


def test_evaluating_float_features_leaves_them_unchanged():
    """Frozen-feature datasets are float (scale 1): normalising a batch must not write into them.
    It did, so every evaluation shifted the cached test features and a head's test loss exploded."""
    from nets.engine.evaluate import evaluate
    torch.manual_seed(0)
    x, y = torch.randn(50, 8, 1, 1) * 3 + 1, torch.randint(0, 3, (50,))
    before = x.clone()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3))
    first = evaluate(model, x, y, [1.0] * 8, [3.0] * 8, ["a", "b", "c"], scale=1.0, batch_size=16)
    again = evaluate(model, x, y, [1.0] * 8, [3.0] * 8, ["a", "b", "c"], scale=1.0, batch_size=16)
    assert torch.equal(x, before) and first.loss == again.loss
