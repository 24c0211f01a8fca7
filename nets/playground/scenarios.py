"""Predict-then-play scenarios: a Playground setting that teaches one thing, the outcome to predict and why."""
from __future__ import annotations

from dataclasses import dataclass

from nets.playground.state import PlaygroundConfig

EPOCHS = 40  # play this long before the verdict: enough for the control to learn (tests/test_playground_scenarios.py)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    changes: dict  # PlaygroundConfig fields, by name, on top of TF's defaults
    question: str
    answer: str  # the verdict kind it shows (nets/playground/verdict.py)
    why: str

    def config(self) -> PlaygroundConfig:
        return PlaygroundConfig().changed(**self.changes)


SCENARIOS = (
    # lr 10, not 3: at 3 the loss's path is chaotic near the edge and its ending differed between CPUs
    # (an AVX-512 Xeon's fell back near the start); at 10 every seed climbs at least 1.4× past the
    # verdict's threshold (tests/test_playground_scenarios.py checks several seeds and perturbed weights)
    Scenario("high-lr", "Too high a learning rate", dict(dataset="circle", learning_rate=10.0),
             "The circle, TF's 4-2 tanh network, learning rate 10 (over three hundred times the default). What "
             "will the loss do?", "diverged",
             "Each step moves the weights by the learning rate times the gradient. At 10 the steps are so long "
             "that they jump over the valley's floor to a higher slope on the other side, again and again: the "
             "loss rises instead of falling. Lower the learning rate to 0.1 and press Play again."),
    Scenario("spiral-small", "Too few neurons for the spiral", dict(dataset="spiral", hidden=(2,), learning_rate=0.1),
             "The spiral, from x1 and x2 alone, with one hidden layer of 2 neurons. What will the loss do?", "stuck",
             "Two tanh neurons give the output two soft straight edges to combine: no way to wind round a "
             "spiral. The best it can do is barely better than guessing. Add layers and neurons (or the "
             "features sin x1, sin x2) and it can follow the arms."),
    Scenario("deep-sigmoid", "Sigmoid in a deep stack",
             dict(dataset="circle", activation="sigmoid", hidden=(8,) * 6, learning_rate=0.1),
             "The circle, six hidden layers of 8 sigmoid neurons. What will the loss do?", "stuck",
             "A sigmoid's slope is at most 0.25, and backpropagation multiplies one such slope per layer: six "
             "layers shrink the gradient reaching the first layers by 0.25⁶ ≈ 1/4000 or more (vanishing "
             "gradients). The early layers hardly move, so the network sits at the same-answer-everywhere "
             "plateau. Switch to tanh or ReLU, or use fewer layers."),
    Scenario("linear", "Linear activations everywhere", dict(dataset="circle", activation="linear", learning_rate=0.1),
             "The circle, TF's 4-2 network but with the linear activation (no squashing at all). What will the "
             "loss do?", "stuck",
             "A linear function of a linear function is linear: however many layers, the network computes "
             "w·x + b, and one straight line cannot cut a disc out of a ring. Its best is the same answer "
             "everywhere. Pick tanh or ReLU, or add the features x1² and x2²."),
    Scenario("control", "The control: a network that fits", dict(dataset="circle", learning_rate=0.1),
             "The circle, TF's 4-2 tanh network, learning rate 0.1. What will the loss do?", "good",
             "Tanh neurons bend, two layers can combine bent edges into a closed curve round the disc, and 0.1 "
             "is a step size the loss surface tolerates: the boundary closes round the blue points within a few "
             "dozen epochs."),
)
BY_KEY = {s.key: s for s in SCENARIOS}
