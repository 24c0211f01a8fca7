"""The training doctor: reads a run's per-epoch metrics and says what a lecturer would say.

Each diagnosis comes with one follow-up, a set of config changes the page offers as a button.
Rules look only at numbers the engine reports, so they are the same live and for saved runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .config import TrainConfig
from .models import model_options

CHANCE_MARGIN = 0.05   # "at chance": accuracy within 5 points of 1/classes
OVERFIT_GAP = 0.10     # train accuracy this far above test accuracy
SLOW_MSE_EPOCHS = 2


@dataclass
class Advice:
    kind: str              # diverged, chance, overfitting, slow-mse
    title: str
    message: str
    action: str            # the button's label
    changes: dict = field(default_factory=dict)  # TrainConfig fields for the follow-up run

    def apply(self, cfg: TrainConfig) -> TrainConfig:
        return TrainConfig.from_dict({**cfg.to_dict(), **self.changes})


def _round(x: float) -> float:
    return float(f"{x:.3g}")  # 1e-6 * 100 should read 0.0001, not 9.999999999999999e-05


def _depth(cfg: TrainConfig) -> int:
    return len(cfg.hidden) if cfg.model == "mlp" and cfg.hidden else 1 if cfg.model == "mlp" else 4


def diagnose(cfg: TrainConfig, epochs: list[dict], notes: list[dict], num_classes: int) -> list[Advice]:
    """Advice for a run so far. `epochs` are EpochEnd dicts, `notes` Diverged/EarlyStopped/Stopped dicts."""
    advice: list[Advice] = []
    diverged = next((n for n in notes if n.get("kind") == "Diverged"), None)
    if diverged:
        advice.append(Advice(
            "diverged", "The loss blew up",
            f"The training loss became {diverged['loss']} at epoch {diverged['epoch']}, batch "
            f"{diverged['batch']}. Each step overshot the minimum and the weights grew until the "
            f"numbers overflowed: the learning rate {cfg.lr:g} is too high for this network. The best "
            "model before that point was kept.",
            f"Retry with learning rate {_round(cfg.lr / 10):g}", {"lr": _round(cfg.lr / 10)}))
        return advice  # nothing else is meaningful after a divergence

    if not epochs:
        return advice
    last = epochs[-1]
    chance = 1 / max(num_classes, 1)
    at_chance = all(e["train_acc"] < chance + CHANCE_MARGIN for e in epochs[-2:])
    if at_chance and len(epochs) >= 2:
        if cfg.activation in ("sigmoid", "tanh") and _depth(cfg) >= 3:
            advice.append(Advice(
                "chance", "Stuck at chance: vanishing gradients",
                f"After {len(epochs)} epochs the network is no better than guessing ({chance:.0%}). With "
                f"{cfg.activation} in {_depth(cfg)} stacked layers each layer multiplies the gradient by a "
                "derivative of at most 0.25 (sigmoid), so the first layers barely learn.",
                "Retry with ReLU", {"activation": "relu"}))
        elif cfg.lr > (1.0 if cfg.optimizer == "sgd" else 0.05):
            advice.append(Advice(
                "chance", "Stuck at chance: the steps are far too large",
                f"After {len(epochs)} epochs the accuracy is still at chance ({chance:.0%}). A learning rate of "
                f"{cfg.lr:g} throws the weights so far on the first steps that the ReLU units die (their "
                "input stays negative, so their gradient is zero) or the outputs saturate.",
                f"Retry with learning rate {_round(cfg.lr / 100):g}", {"lr": _round(cfg.lr / 100)}))
        elif cfg.lr < 1e-4:
            advice.append(Advice(
                "chance", "Stuck at chance: the steps are too small",
                f"After {len(epochs)} epochs the accuracy is still at chance ({chance:.0%}). With a learning "
                f"rate of {cfg.lr:g} the weights hardly move from where they started.",
                f"Retry with learning rate {_round(cfg.lr * 100):g}", {"lr": _round(cfg.lr * 100)}))
        else:
            advice.append(Advice(
                "chance", "Stuck at chance",
                f"After {len(epochs)} epochs the accuracy is still at chance ({chance:.0%}). Common causes: "
                "a learning rate far too high or too low, saturating activations in a deep network, or all "
                "units starting identical (zero initialisation) so they never differ. Adam with its default "
                "step size is a robust first try.",
                "Retry with Adam, learning rate 0.001", {"optimizer": "adam", "lr": 0.001}))

    test_acc = last.get("val_acc") if last.get("val_acc") is not None else last["test_acc"]
    gap = last["train_acc"] - test_acc
    if len(epochs) >= 2 and gap > OVERFIT_GAP:
        losses = [e.get("val_loss") if e.get("val_loss") is not None else e["test_loss"] for e in epochs]
        rising = losses[-1] > min(losses)
        dropout_ok = "dropout" in model_options(cfg.model) and not (cfg.dropout or 0) > 0.3
        changes = {"dropout": 0.5} if dropout_ok else {"augment": ("crop", "flip")}
        what = "dropout 0.5" if dropout_ok else "crop and flip augmentation"
        advice.append(Advice(
            "overfitting", "Overfitting: memorising the training set",
            f"Training accuracy is {last['train_acc']:.1%} but held-out accuracy is {test_acc:.1%}, a gap of "
            f"{gap:.0%}" + (", and the held-out loss has started rising" if rising else "") + ". The network "
            "is learning the training images rather than the classes. Regularise it: dropout, augmentation, "
            "or more data.",
            f"Retry with {what}", changes))

    if (cfg.loss == "mse" and len(epochs) >= SLOW_MSE_EPOCHS and not at_chance
            and last["train_acc"] < 0.9):
        advice.append(Advice(
            "slow-mse", "Squared error learns slowly here",
            "Squared error between the softmax output and the one-hot target gives tiny gradients when the "
            "softmax is confidently wrong (its derivative vanishes as the output saturates), while "
            "cross-entropy's gradient is simply (prediction − target). Compare the two on the same network.",
            "Retry with cross-entropy", {"loss": "ce"}))
    return advice
