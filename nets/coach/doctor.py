"""The training doctor: reads a run's per-epoch metrics and says what a lecturer would say.

Each diagnosis comes with one follow-up, a set of config changes the page offers as a button.
Rules look only at numbers the engine reports, so they are the same live and for saved runs.
`diagnose_group` reads the four-configuration group side by side and says what it teaches.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from nets.engine.augment import suitable
from nets.engine.config import TrainConfig
from nets.engine.models import model_options
from nets.engine.naming import LOSS_NAMES, OPTIMIZER_NAMES, format_lr, is_generated
from nets.coach.outcome import loss_word

CHANCE_MARGIN = 0.05   # "at chance": accuracy within 5 points of 1/classes
OVERFIT_GAP = 0.10     # train accuracy this far above test accuracy
SLOW_MSE_EPOCHS = 2
# The learning rates that train most networks in this course, per optimizer, and the known-good
# value to start again from when a learning rate is far outside that range (a tenth of 1000 is
# still absurd; SGD's 0.01 is not).
LR_RANGE = {"sgd": (0.01, 0.1), "adam": (1e-4, 0.01), "adamw": (1e-4, 0.01), "rmsprop": (1e-4, 0.01)}
LR_DEFAULT = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}


@dataclass
class Advice:
    kind: str              # diverged, chance, overfitting, slow-mse
    title: str
    message: str
    action: str            # the button's label
    changes: dict = field(default_factory=dict)  # TrainConfig fields for the follow-up run

    def apply(self, cfg: TrainConfig) -> TrainConfig:
        """The follow-up run's configuration. A name the app made for the failed run ('… lr 1000 ·
        cross-entropy #6') is dropped, so the new run is named from its own settings; a name the user
        typed is kept."""
        new = TrainConfig.from_dict({**cfg.to_dict(), **self.changes})
        return replace(new, name="") if is_generated(cfg.name, cfg) else new


def _round(x: float) -> float:
    return float(f"{x:.3g}")  # 1e-6 * 100 should read 0.0001, not 9.999999999999999e-05


def _opt(cfg: TrainConfig) -> str:
    return OPTIMIZER_NAMES.get(cfg.optimizer, cfg.optimizer)


def lower_lr(cfg: TrainConfig) -> tuple[float, str]:
    """A smaller learning rate and a sentence saying why: a tenth when that is within the optimizer's
    usual range (or below it), else the optimizer's usual starting value."""
    low, high = LR_RANGE.get(cfg.optimizer, (1e-4, 0.1))
    tenth = _round(cfg.lr / 10)
    if tenth <= high:
        return tenth, f"Try a tenth of it, {format_lr(tenth)}."
    good = LR_DEFAULT.get(cfg.optimizer, 0.01)
    return good, (f"A tenth ({format_lr(tenth)}) would still be far above the usual range for {_opt(cfg)} "
                  f"({format_lr(low)} to {format_lr(high)}): start again from {format_lr(good)}, its usual "
                  "starting value.")


def higher_lr(cfg: TrainConfig) -> tuple[float, str]:
    """A larger learning rate and a sentence saying why: ten times when that reaches the usual range,
    else the optimizer's usual starting value."""
    low, high = LR_RANGE.get(cfg.optimizer, (1e-4, 0.1))
    tenfold = _round(cfg.lr * 10)
    if tenfold >= low:
        return tenfold, f"Try ten times it, {format_lr(tenfold)}."
    good = LR_DEFAULT.get(cfg.optimizer, 0.01)
    return good, (f"Ten times it ({format_lr(tenfold)}) would still be far below the usual range for "
                  f"{_opt(cfg)} ({format_lr(low)} to {format_lr(high)}): start from {format_lr(good)}, its "
                  "usual starting value.")


def _depth(cfg: TrainConfig) -> int:
    return len(cfg.hidden) if cfg.model == "mlp" and cfg.hidden else 1 if cfg.model == "mlp" else 4


def chance_level(cfg: TrainConfig, num_classes: int | None = None) -> float | None:
    """The accuracy of guessing, 1/classes: the classes the engine reported (Started.num_classes),
    else the dataset's own count (nets.engine.catalog); None when neither is known."""
    classes = num_classes or cfg.num_classes()
    return 1 / classes if classes else None


def diagnose(cfg: TrainConfig, epochs: list[dict], notes: list[dict], num_classes: int | None = None,
             kept: bool | None = None) -> list[Advice]:
    """Advice for a run so far. `epochs` are EpochEnd dicts, `notes` Diverged/EarlyStopped/Stopped dicts,
    `num_classes` the engine's Started.num_classes (None: the dataset's count), `kept` whether the run
    kept a model (default: it did if an epoch finished, as the engine keeps the best model at the end
    of every epoch that improves)."""
    advice: list[Advice] = []
    kept = bool(epochs) if kept is None else kept
    diverged = next((n for n in notes if n.get("kind") == "Diverged"), None)
    if diverged:
        lr, why = lower_lr(cfg)
        advice.append(Advice(
            "diverged", "The loss blew up",
            f"The training loss became {loss_word(diverged.get('loss'))} at epoch {diverged['epoch']}, batch "
            f"{diverged['batch']}. Each step overshot the minimum and the weights grew until the numbers "
            "overflowed: the learning rate "
            f"{format_lr(cfg.lr)} is too high for this network. "
            + ("The best model before that point was kept. " if kept else
               "No model was kept: it diverged before any epoch finished. " if not epochs else
               "No model was kept. ")
            + why,
            f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
        return advice  # nothing else is meaningful after a divergence

    if not epochs:
        return advice
    last = epochs[-1]
    chance = chance_level(cfg, num_classes)
    at_chance = chance is not None and all(e["train_acc"] < chance + CHANCE_MARGIN for e in epochs[-2:])
    if at_chance and len(epochs) >= 2:
        if cfg.activation in ("sigmoid", "tanh") and _depth(cfg) >= 3:
            advice.append(Advice(
                "chance", "Stuck at chance: vanishing gradients",
                f"After {len(epochs)} epochs the network is no better than guessing ({chance:.0%}). With "
                f"{cfg.activation} in {_depth(cfg)} stacked layers each layer multiplies the gradient by a "
                "derivative of at most 0.25 (sigmoid), so the first layers barely learn.",
                "Retry with ReLU", {"activation": "relu"}))
        elif cfg.lr > 10 * LR_RANGE.get(cfg.optimizer, (1e-4, 0.1))[1]:
            lr, why = lower_lr(cfg)
            advice.append(Advice(
                "chance", "Stuck at chance: the steps are far too large",
                f"After {len(epochs)} epochs the accuracy is still at chance ({chance:.0%}). A learning rate of "
                f"{format_lr(cfg.lr)} throws the weights so far on the first steps that the ReLU units die "
                "(their input stays negative, so their gradient is zero) or the outputs saturate. " + why,
                f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
        elif cfg.lr < LR_RANGE.get(cfg.optimizer, (1e-4, 0.1))[0]:
            lr, why = higher_lr(cfg)
            advice.append(Advice(
                "chance", "Stuck at chance: the steps are too small",
                f"After {len(epochs)} epochs the accuracy is still at chance ({chance:.0%}). With a learning "
                f"rate of {format_lr(cfg.lr)} the weights hardly move from where they started"
                + (", and squared error through softmax makes the gradients smaller still" if cfg.loss == "mse"
                   else "") + ". " + why,
                f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
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
        changes = {"dropout": 0.5} if dropout_ok else {"augment": suitable(cfg.dataset)}
        what = "dropout 0.5" if dropout_ok else " and ".join(suitable(cfg.dataset)) + " augmentation"
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


def started_classes(view) -> int | None:
    """The classes a job's engine reported when it started (Started.num_classes); None before."""
    return (getattr(view, "started_info", None) or {}).get("num_classes")


def diagnose_job(view) -> list[Advice]:
    """Advice for one job (a nets.training_work.JobView), with its own class count."""
    return diagnose(view.config, view.epochs, view.notes, started_classes(view),
                    kept=bool(view.summary and view.summary.get("best_epoch")))


# ------------------------------------------------------------------------------------- groups
@dataclass
class GroupReport:
    """The four-configuration group read side by side."""
    advice: dict = field(default_factory=dict)     # each run's key (a job's id, else its label) → [Advice]
    sentence: str = ""                             # the lesson in one sentence ('' until two runs ended)


@dataclass
class _Member:
    key: str
    label: str
    cfg: TrainConfig
    epochs: list
    notes: list
    summary: dict | None
    num_classes: int | None


def _member(run, num_classes: int | None = None) -> _Member:
    """A (label, cfg, epochs, notes, summary) tuple, or anything shaped like nets.training_work.JobView."""
    if isinstance(run, tuple):
        label, cfg, epochs, notes, summary = run
        return _Member(label, label, cfg, list(epochs or []), list(notes or []), summary, num_classes)
    return _Member(getattr(run, "id", None) or run.label, run.label, run.config, list(run.epochs or []),
                   list(run.notes or []), run.summary, started_classes(run) or num_classes)


def _pct(x: float | None) -> str:
    return "no model" if x is None else f"{x:.1%}"


def diagnose_group(runs: Iterable, num_classes: int | None = None) -> GroupReport:
    """Per-run advice and one comparison for a group of runs (the coursework's four: SGD/Adam ×
    cross-entropy/squared error). Each run is a (label, cfg, epochs, notes, summary) tuple or a
    JobView; only runs with a summary (ended and saved) are compared. A JobView's classes are its
    Started event's; `num_classes` is for the tuples (None: each dataset's own count)."""
    members = [_member(r, num_classes) for r in runs]
    report = GroupReport()
    for m in members:
        kept = (m.summary.get("best_epoch") is not None) if m.summary else None
        report.advice[m.key] = diagnose(m.cfg, m.epochs, m.notes, m.num_classes, kept=kept)

    pairs = [(m.cfg.optimizer, m.cfg.loss) for m in members]
    unique = len(set(pairs)) == len(pairs)

    def name(m: _Member) -> str:
        return f"{_opt(m.cfg)} + {LOSS_NAMES.get(m.cfg.loss, m.cfg.loss)}" if unique else m.label

    ended = [m for m in members if m.summary]
    accs = {m.key: m.summary.get("best_test_acc") for m in ended}
    ended.sort(key=lambda m: -1.0 if accs[m.key] is None else accs[m.key], reverse=True)
    if len(ended) < 2:
        return report
    best, worst = ended[0], ended[-1]
    if accs[best.key] is None:
        report.sentence = "None of the runs kept a model: each diverged or stopped before an epoch finished."
        return report
    if accs[best.key] == accs[worst.key]:
        report.sentence = f"All {len(ended)} runs reached the same test accuracy, {_pct(accs[best.key])}."
        return report
    chance = chance_level(worst.cfg, worst.num_classes)
    n = len(best.epochs)
    first = (f"{name(best)} learned best: {_pct(accs[best.key])} test accuracy"
             + (f" after {n} epoch{'s' if n != 1 else ''}" if n else ""))
    diverged = next((x for x in worst.notes if x.get("kind") == "Diverged"), None)
    w = worst.cfg
    if diverged:
        second = (f"{name(worst)} diverged in epoch {diverged['epoch']} ({_pct(accs[worst.key])}): its learning "
                  f"rate {format_lr(w.lr)} was too high")
    else:
        acc = accs[worst.key]
        at_chance = acc is not None and chance is not None and acc < chance + CHANCE_MARGIN
        reasons = []
        if w.loss == "mse":
            reasons.append("squared error through softmax gives small gradients (the softmax's slope shrinks them)")
        if w.optimizer == "sgd" and w.lr < LR_RANGE["sgd"][0]:
            reasons.append(f"SGD at learning rate {format_lr(w.lr)} takes small steps"
                           + (" along them" if reasons else ""))
        second = (f"{name(worst)} learned least ({_pct(acc)}"
                  + (f", no better than chance at {chance:.0%}" if at_chance else "") + ")"
                  + (": " + ", and ".join(reasons) if reasons else ""))
    report.sentence = f"{first}; {second}."
    return report
