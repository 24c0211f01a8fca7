"""Issue 20, item 8: the difference of two confusion matrices has one colour for "B better" everywhere."""
import json

import pytest
import torch

from nets.engine.evaluate import Evaluation
from nets.charts import confusion
from nets.runs import compare


def evaluation(labels, preds, classes=("cat", "dog")):
    labels, preds = torch.tensor(labels), torch.tensor(preds)
    probs = torch.nn.functional.one_hot(preds, len(classes)).float()
    return Evaluation(0.0, (labels == preds).float().mean().item(), labels, preds, probs, list(classes))


def test_b_better_is_positive_in_every_cell_of_a_worked_example():
    # Four cats, four dogs. A: cats 2/4 right (2 taken for dogs), dogs 4/4. B: cats 4/4, dogs 3/4 (1 taken for a cat).
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    a = evaluation(labels, [0, 0, 1, 1, 1, 1, 1, 1])
    b = evaluation(labels, [0, 0, 0, 0, 0, 1, 1, 1])
    m = compare.confusion_difference(a, b).matrix
    # cat→cat: B right 100% vs 50%, B better by 50 points: +0.50
    # cat→dog: A makes the mistake 50%, B 0%: B better by 50 points: +0.50 (a plain B − A would say −0.50)
    # dog→cat: B makes the mistake 25%, A 0%: A better: −0.25 (a plain B − A would say +0.25)
    # dog→dog: B right 75% vs 100%: A better: −0.25
    assert m.tolist() == [[pytest.approx(0.5), pytest.approx(0.5)], [pytest.approx(-0.25), pytest.approx(-0.25)]]
    # Each row's signs agree: a class B gets right more often is a class it makes fewer mistakes on.
    assert (m[0] > 0).all() and (m[1] < 0).all()


def test_b_better_on_its_own_and_swapping_the_runs_flips_every_sign():
    na = torch.tensor([[0.9, 0.1], [0.3, 0.7]])
    nb = torch.tensor([[0.8, 0.2], [0.1, 0.9]])
    m = compare.b_better(na, nb)
    assert m.tolist() == [[pytest.approx(-0.1), pytest.approx(-0.1)], [pytest.approx(0.2), pytest.approx(0.2)]]
    assert torch.allclose(compare.b_better(nb, na), -m)


def test_the_difference_chart_says_which_colour_means_b_better():
    frame = confusion.confusion_frame(torch.tensor([[0.5, 0.5], [-0.25, -0.25]]), ["cat", "dog"], True, signed=True)
    spec = json.dumps(confusion.heatmap(frame, ["cat", "dog"], difference=True).to_dict(), ensure_ascii=False)
    assert "redblue" in spec  # Vega's redblue: negative red, positive (B better) blue
    assert confusion.BETTER_LEGEND in spec and "blue: B better" in confusion.BETTER_LEGEND
    assert "red, A is better" in confusion.BETTER_CAPTION and "blue, B is better" in confusion.BETTER_CAPTION
