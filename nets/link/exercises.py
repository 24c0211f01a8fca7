"""The builder's predict-then-reveal exercises."""
# Each exercise asks a prediction first (a few choices), then reveals the answer and why (assets/build_<key>.md,
# our own Markdown), and sets a task the page checks live on the network being built. The numbers in the
# reveals are computed from the templates by nets.engine.netshape, never typed in. Exercise 2's answer is
# the student's own training run: the page reads their runs (nets.runs, owner-checked) and hands the rows in.
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nets.engine import netshape, netspec
from nets.engine.netbuild import template
from nets.engine.catalog import input_shape, num_classes
from nets.status import SUCCEEDED, Status

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
TARGET_ACCURACY, MAX_PARAMS = 0.98, 10_000


@dataclass(frozen=True)
class Case:
    """One starting network of an exercise (exercise 3 has three), with the choice that explains it."""
    key: str
    title: str
    text: str                 # the network in netspec's text form
    answer: str               # a key of the exercise's choices

    def layers(self) -> tuple:
        return netspec.from_text(self.text)


@dataclass(frozen=True)
class Check:
    done: bool
    text: str                 # our own words, with numbers: safe as Markdown


@dataclass(frozen=True)
class Exercise:
    key: str
    title: str
    dataset: str              # where its task is set up
    question: str             # what to predict (Markdown, our own)
    choices: dict[str, str]   # key → the choice as shown
    task: str                 # what to do once it is revealed
    cases: tuple[Case, ...] = field(default_factory=tuple)
    start: str = ""           # the template the task starts from ("" : the first case's network)
    answer: str = ""          # the right choice (an exercise with cases: each case's own)

    def why(self, case: str = "") -> str:
        """The explanation, from assets/build_<key>.md, or build_<key>_<case>.md for a case (Markdown: our own)."""
        name = "_".join([self.key, self.case(case).key] if self.cases else [self.key]).replace("-", "_")
        return (ASSETS / f"build_{name}.md").read_text(encoding="utf-8").strip()

    def case(self, key: str = "") -> Case | None:
        return next((c for c in self.cases if c.key == key), self.cases[0] if self.cases else None)

    def starting_layers(self, case: str = "") -> tuple:
        """The network the task starts from, on the exercise's dataset."""
        if self.cases:
            return self.case(case).layers()
        return template(self.start, input_shape(self.dataset))

    def right(self, case: str = "") -> str:
        return self.case(case).answer if self.cases else self.answer


def _analysis(key: str, dataset: str) -> netshape.Analysis:
    shape = input_shape(dataset)
    return netshape.analyse(template(key, shape), shape, num_classes(dataset))


def _times(a: int, b: int) -> str:
    return f"{a / b:.0f}×" if a >= 10 * b else f"{a / b:.1f}×"


def _biggest(analysis: netshape.Analysis) -> netshape.Row:
    return max(analysis.rows, key=lambda r: r.params)


# ------------------------------------------------------------------------------ the reveals
def reveal_smaller() -> str:
    """Exercise 1's answer: LeNet against the MLP on MNIST, and the task's numbers on CIFAR-10."""
    lenet, mlp = _analysis("lenet", "mnist"), _analysis("mlp", "mnist")
    big = _biggest(mlp)
    cnn, mlp_c = _analysis("cnn5", "cifar10"), _analysis("mlp", "cifar10")
    cnn_big = _biggest(cnn)
    return (f"The MLP: {mlp.params:,} parameters against LeNet's {lenet.params:,} ({_times(mlp.params, lenet.params)} "
            f"more), and its first layer, {big.label} ({big.settings}), holds {big.params:,} of them. On CIFAR-10 it "
            f"is the other way round: the 5×5 CNN has {cnn.params:,}, the MLP {mlp_c.params:,}; the CNN's "
            f"{cnn_big.label} ({cnn_big.settings}) alone holds {cnn_big.params:,}.")


def check_smaller(layers, analysis: netshape.Analysis) -> Check:
    """The task: the 5×5 CNN below the MLP on CIFAR-10, both convolutions kept."""
    limit = _analysis("mlp", "cifar10").params
    convs = sum(1 for d in layers if isinstance(d, dict) and d.get("type") == "conv")
    if not analysis.ok:
        return Check(False, "Fix the network's problems first.")
    if convs < 2:
        return Check(False, f"Keep both convolutions: this network has {convs}.")
    if analysis.params >= limit:
        big = _biggest(analysis)
        return Check(False, f"{analysis.params:,} parameters: still {analysis.params - limit:,} more than the MLP's "
                            f"{limit:,}. The largest layer is {big.label} with {big.params:,}.")
    return Check(True, f"Done: {analysis.params:,} parameters, {_times(limit, analysis.params)} fewer than the "
                       f"MLP's {limit:,}, with {convs} convolutions.")


def check_small(layers, analysis: netshape.Analysis) -> Check:
    """Exercise 2's live check: under 10,000 parameters (the accuracy comes from a run)."""
    if not analysis.ok:
        return Check(False, "Fix the network's problems first.")
    if analysis.params >= MAX_PARAMS:
        return Check(False, f"{analysis.params:,} parameters: {analysis.params - MAX_PARAMS + 1:,} too many.")
    return Check(True, f"{analysis.params:,} parameters: under {MAX_PARAMS:,}. Now train it on mnist "
                       "(Train this network) and come back for the verdict.")


def finished(rows) -> list:
    """The runs (nets.runs.RunRow, newest first) that ended as planned or were stopped with a kept model,
    with an accuracy: the ones a verdict can read."""
    ok = set(SUCCEEDED) | {Status.STOPPED}
    return [r for r in rows if r.status in ok and r.accuracy is not None]


def reveal_small(rows) -> Check | None:
    """Exercise 2's verdict from the student's own custom runs on mnist (newest first; the page asks the
    run index for them, owner-checked). None when there is no finished run yet. The run's name is the
    student's text: the page shows this as text."""
    runs = finished(rows)
    if not runs:
        return None
    run = runs[0]
    params = f"{run.params:,} parameters" if run.params is not None else "an unknown number of parameters"
    acc = f"{100 * run.accuracy:.2f}%"
    small = run.params is not None and run.params < MAX_PARAMS
    if small and run.accuracy >= TARGET_ACCURACY:
        return Check(True, f"Your newest run, {run.name}, reached {acc} with {params}: done.")
    if not small:
        return Check(False, f"Your newest run, {run.name}, reached {acc} but has {params}: over {MAX_PARAMS:,}.")
    return Check(False, f"Your newest run, {run.name}, reached {acc} with {params}: not yet 98%. "
                        "More epochs, or more channels where they cost little (the convolutions).")


def reveal_warnings(exercise: Exercise, case: str = "") -> list[str]:
    """Exercise 3's evidence: what netshape says about the case's starting network, in its words."""
    layers, shape = exercise.starting_layers(case), input_shape(exercise.dataset)
    analysis = netshape.analyse(layers, shape, num_classes(exercise.dataset))
    return [w.text for w in analysis.warnings] or ["The builder sees nothing wrong with this network."]


def check_learns(layers, analysis: netshape.Analysis) -> Check:
    if not analysis.ok:
        return Check(False, "Fix the network's problems first.")
    if analysis.warnings:
        return Check(False, f"{len(analysis.warnings)} warning{'s' if len(analysis.warnings) > 1 else ''} left.")
    return Check(True, "No warning left: train it and compare with the first network.")


DEEP = ",".join(["flatten"] + ["linear_64,sigmoid"] * 8 + ["linear"])  # eight sigmoid layers, no batch norm
EXERCISES = (
    Exercise("smaller", "Smaller than the MLP", "cifar10",
             "Which has more parameters on MNIST: LeNet (two convolutions, three Linears) or the MLP with one "
             "hidden layer of 128?",
             {"lenet": "LeNet: it has more layers", "mlp": "The MLP", "same": "About the same"},
             "Now on CIFAR-10 the 5×5 CNN has more parameters than the MLP. Make it smaller than the MLP while "
             "keeping both convolutions.", start="cnn5", answer="mlp"),
    Exercise("small-98", "98% with under 10,000 parameters", "mnist",
             "Which network can reach 98% test accuracy on MNIST with fewer than 10,000 parameters?",
             {"mlp": "An MLP with one small hidden layer", "cnn": "A small CNN: convolutions and pooling",
              "none": "Neither: 10,000 parameters are too few"},
             "Build a network with fewer than 10,000 parameters, train it on mnist, and reach 98%.",
             start="mlp", answer="cnn"),
    Exercise("not-learning", "Why does this network not learn?", "mnist-mini",
             "This network trains, but learns little or nothing. Why?",
             {"vanishing": "Its gradients vanish on the way back", "logits": "Something comes after the output",
              "linear": "It is one linear map, however many layers", "fine": "Nothing is wrong: it learns"},
             "Fix it so that no warning is left, then train both and compare.",
             cases=(Case("deep-sigmoid", "Eight sigmoid layers", DEEP, "vanishing"),
                    Case("relu-output", "A ReLU after the output",
                         "flatten,linear_128,relu,linear,relu", "logits"),
                    Case("linear-stack", "Linear, Linear, Linear",
                         "flatten,linear_256,linear_128,linear", "linear"))),
)
BY_KEY = {e.key: e for e in EXERCISES}
CHECKS = {"smaller": check_smaller, "small-98": check_small, "not-learning": check_learns}


def check(exercise: Exercise, layers, analysis: netshape.Analysis) -> Check:
    """The live check of the exercise's task on the network being built."""
    return CHECKS[exercise.key](layers, analysis)


def verdict(exercise: Exercise, guess: str | None, case: str = "") -> tuple[bool, str]:
    """(right, what to say) for a prediction; the reveal's facts come with the exercise."""
    right = exercise.right(case)
    answer = exercise.choices[right]
    if guess is None:
        return False, f"The answer: {answer}. (You made no prediction.)"
    if guess == right:
        return True, f"{answer}: you predicted this. Well done."
    return False, f"The answer: {answer}. You predicted: {exercise.choices.get(guess, guess)}."
