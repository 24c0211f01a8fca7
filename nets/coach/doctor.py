"""The training doctor: reads a run's per-epoch metrics and says what a lecturer would say.

Each diagnosis comes with one follow-up, a set of config changes the page offers as a button.
Rules look only at numbers the engine reports, so they are the same live and for saved runs; with
layer statistics (nets.coach.dynamics) they also say what happened inside, naming the layer.
`diagnose_group` (nets.coach.group, re-exported here) reads the four-configuration group side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from nets.engine.augment import suitable
from nets.engine.config import TrainConfig
from nets.engine.models import model_options
from nets.engine.naming import OPTIMIZER_NAMES, format_lr, is_generated
from nets.coach.dynamics import RATIO_HIGH, Finding, findings, first_findings, largest_step
from nets.coach.outcome import loss_word
from nets.coach.spec_fixes import activation_of, batch_norm_fix, relu_fix
from nets.engine.stats import UPDATE_RATIO_GOOD, Dynamics

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
    kind: str              # diverged, chance, overfitting, slow-mse; inside-<finding kind> (layer statistics)
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
    if cfg.model == "custom":
        return sum(d.get("type") in ("conv", "linear", "residual", "gated") for d in cfg.layers)
    return len(cfg.hidden) if cfg.model == "mlp" and cfg.hidden else 1 if cfg.model == "mlp" else 4


def chance_level(cfg: TrainConfig, num_classes: int | None = None) -> float | None:
    """The accuracy of guessing, 1/classes: the classes the engine reported (Started.num_classes),
    else the dataset's own count (nets.engine.catalog); None when neither is known."""
    classes = num_classes or cfg.num_classes()
    return 1 / classes if classes else None


def diagnose(cfg: TrainConfig, epochs: list[dict], notes: list[dict], num_classes: int | None = None,
             kept: bool | None = None, dynamics: Dynamics | None = None) -> list[Advice]:
    """Advice for a run so far. `epochs` are EpochEnd dicts, `notes` Diverged/EarlyStopped/Stopped dicts,
    `num_classes` the engine's Started.num_classes (None: the dataset's count), `kept` whether the run
    kept a model (default: it did if an epoch finished, as the engine keeps the best model at the end
    of every epoch that improves), `dynamics` its layer statistics if it recorded them."""
    advice: list[Advice] = []
    kept = bool(epochs) if kept is None else kept
    diverged = next((n for n in notes if n.get("kind") == "Diverged"), None)
    if diverged:
        lr, why = lower_lr(cfg)
        before = [f for f in first_findings(dynamics) if f.kind in ("exploding", "dead-relu")]
        advice.append(Advice(
            "diverged", "The loss blew up",
            f"The training loss became {loss_word(diverged.get('loss'))} at epoch {diverged['epoch']}, batch "
            f"{diverged['batch']}. Each step overshot the minimum and the weights grew until the numbers "
            "overflowed: the learning rate "
            f"{format_lr(cfg.lr)} is too high for this network. "
            + ("The best model before that point was kept. " if kept else
               "No model was kept: it diverged before any epoch finished. " if not epochs else
               "No model was kept. ")
            + (f"Inside, before it blew up: {'; '.join(f.text for f in before)}. " if before else "")
            + why,
            f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
        return advice  # nothing else is meaningful after a divergence

    inside = inside_advice(cfg, findings(dynamics), dynamics)
    if not epochs:
        return inside
    last = epochs[-1]
    chance = chance_level(cfg, num_classes)
    at_chance = chance is not None and all(e["train_acc"] < chance + CHANCE_MARGIN for e in epochs[-2:])
    if at_chance and len(epochs) >= 2:
        if activation_of(cfg) in ("sigmoid", "tanh") and _depth(cfg) >= 3:
            advice.append(Advice(
                "chance", "Stuck at chance: vanishing gradients",
                f"After {len(epochs)} epochs the network is no better than guessing ({chance:.0%}). With "
                f"{activation_of(cfg)} in {_depth(cfg)} stacked layers each layer multiplies the gradient by a "
                "derivative of at most 0.25 (sigmoid), so the first layers barely learn.",
                *relu_fix(cfg)))
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
        elif inside:  # the statistics say why: their first card, as the chance card
            a = inside.pop(0)
            advice.append(replace(a, kind="chance", title=f"Stuck at chance: {a.title[0].lower()}{a.title[1:]}",
                                  message=f"After {len(epochs)} epochs the accuracy is still at chance "
                                          f"({chance:.0%}). {a.message}"))
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
            "cross-entropy's gradient is simply (prediction − target). "
            + ("" if cfg.optimizer == "sgd" else f"{_opt(cfg)} divides each step by the gradient's recent size, "
               "so small gradients alone do not slow it: layer statistics show what does. ")
            + "Compare the two on the same network.",
            "Retry with cross-entropy", {"loss": "ce"}))
    return _merged(advice, inside)


def started_classes(view) -> int | None:
    """The classes a job's engine reported when it started (Started.num_classes); None before."""
    return (getattr(view, "started_info", None) or {}).get("num_classes")


def diagnose_job(view) -> list[Advice]:
    """Advice for one job (a nets.training_work.JobView), with its own class count and layer statistics."""
    return diagnose(view.config, view.epochs, view.notes, started_classes(view),
                    kept=bool(view.summary and view.summary.get("best_epoch")), dynamics=getattr(view, "dynamics", None))


# ------------------------------------------------------------------------------- inside the network
def _quote(a: Advice) -> str:
    """A statistics card's first sentence (its finding), to quote inside another sentence."""
    first = a.message.split(". ")[0].rstrip(".")
    return first[0].lower() + first[1:] + "."


def _merged(advice: list[Advice], inside: list[Advice]) -> list[Advice]:
    """The statistics' cards after the others; one whose fix another card already offers is quoted in it."""
    for a in inside:
        same = next((b for b in advice if b.changes == a.changes), None)
        if same is None:
            advice.append(a)
        else:
            advice[advice.index(same)] = replace(same, message=f"{same.message} Measured: {_quote(a)}")
    return advice


def inside_advice(cfg: TrainConfig, found: list[Finding], d: Dynamics | None = None) -> list[Advice]:
    """A card per finding of the layer statistics, worst first, each with a one-click fix. An update
    ratio far from 1e-3 gets its own card only when nothing else explains it."""
    cards: list[Advice] = []
    bn, act = batch_norm_fix(cfg), activation_of(cfg)
    for f in found:
        said = f.text[0].upper() + f.text[1:] + "."
        if f.kind == "vanishing":
            action, changes = relu_fix(cfg)
            why = (f" With {act} every layer multiplies the gradient by a slope of at most "
                   f"{0.25 if act == 'sigmoid' else 1:g} on its way back, so the first layers barely learn."
                   if changes else " The signal shrinks on its way back through the layers.")
            if changes:
                cards.append(Advice("inside-vanishing", f"Vanishing gradients in {f.layer}", said + why, action, changes))
            if bn:
                cards.append(Advice("inside-vanishing", "Vanishing gradients: normalise each layer",
                                    said + " Batch normalisation rescales each layer's input, so the gradient "
                                    "keeps its size through the stack.", "Retry with batch norm", bn))
        elif f.kind == "exploding":
            lr, why = lower_lr(cfg)
            cards.append(Advice("inside-exploding", f"Exploding updates in {f.layer}",
                                f"{said} A healthy step changes a weight by about {UPDATE_RATIO_GOOD:g} of its size. "
                                + why, f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
        elif f.kind == "dead-relu":
            if (big := largest_step(d, f.step)) > RATIO_HIGH or any(g.kind == "exploding" for g in found):
                lr, why = lower_lr(cfg)
                cards.append(Advice("inside-dead-relu", f"Dead ReLUs in {f.layer}",
                                    f"{said} Before that a step moved the median layer's weights by up to {big:.0%} "
                                    f"of their size (about {UPDATE_RATIO_GOOD:.1%} is healthy): steps this large push "
                                    "a unit's input below zero for every image; there its gradient is zero, so it "
                                    "never comes back. " + why,
                                    f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
            elif cfg.init != "kaiming":
                cards.append(Advice("inside-dead-relu", f"Dead ReLUs in {f.layer}",
                                    f"{said} The starting weights shrink the signal layer by layer until the "
                                    "biases decide, and a unit whose input stays below zero gets no gradient. "
                                    "Kaiming (He) initialisation scales each layer's weights for ReLU so the "
                                    "signal keeps its size.", "Retry with Kaiming initialisation", {"init": "kaiming"}))
            elif bn:
                cards.append(Advice("inside-dead-relu", f"Dead ReLUs in {f.layer}", said + " Batch normalisation "
                                    "keeps each unit's input centred, so it fires for some images.",
                                    "Retry with batch norm", bn))
        elif f.kind == "saturated":
            action, changes = relu_fix(cfg)
            if changes:
                cards.append(Advice("inside-saturated", f"Saturated units in {f.layer}", said + " Where a "
                                    f"{act} is flat its slope is near zero, so those units stop learning.",
                                    action, changes))
            if cfg.init != "xavier":
                cards.append(Advice("inside-saturated", "Saturated units: smaller starting weights", said +
                                    " Xavier (Glorot) initialisation scales the starting weights so each "
                                    f"{act or 'unit'} starts in its steep middle.",
                                    "Retry with Xavier initialisation", {"init": "xavier"}))
        elif f.kind == "update-ratio" and len(found) == 1:
            low = f.value < UPDATE_RATIO_GOOD
            lr, why = (higher_lr if low else lower_lr)(cfg)
            cards.append(Advice("inside-update-ratio", "Steps far too small" if low else "Steps far too large",
                                f"{said} About {UPDATE_RATIO_GOOD:g} is the usual rule of thumb. " + why,
                                f"Retry with learning rate {format_lr(lr)}", {"lr": lr}))
    return cards
