"""Inside-training lessons: a Train-page lesson link each, the question to predict, the finding that answers it and why."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nets.engine.config import TrainConfig
from nets.link.train import encode

if TYPE_CHECKING:  # a lesson's answer is a finding of the doctor's (nets.coach, a level above links)
    from nets.coach.dynamics import Finding

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
EVERY = 5                                   # statistics every 5 steps: ten records by step 50
LOCKED = frozenset({"dataset", "model", "hidden", "stats_every"})  # the fix's field stays free
NONE = "none"
FIXES = frozenset({"activation", "batch_norm", "init", "lr", "optimizer", "momentum", "loss"})
DEFAULTS = TrainConfig().to_dict()
# What a student may predict; each key but NONE is a finding's kind (nets.coach.dynamics).
OUTCOMES = {
    "vanishing": "The first layers' gradients vanish: they hardly learn",
    "dead-relu": "Most ReLUs die: they stop firing for good",
    "exploding": "The updates explode: the weights blow up",
    NONE: "Nothing goes wrong inside: every layer learns",
}
DEEP = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(64,) * 10, activation="sigmoid", epochs=1,
                   stats_every=EVERY, optimizer="sgd", lr=0.01, momentum=0.9)


@dataclass(frozen=True)
class InsideLesson:
    key: str
    title: str
    cfg: TrainConfig
    question: str
    answer: str                    # an OUTCOMES key: the finding the run shows (NONE: no alarm)
    locked: frozenset[str] = LOCKED

    def why(self) -> str:
        """The explanation, from assets/inside_<key>.md (Markdown: our own text)."""
        return (ASSETS / f"inside_{self.key.replace('-', '_')}.md").read_text(encoding="utf-8").strip()

    def changed(self, cfg: TrainConfig) -> bool:
        """Whether `cfg` differs from the lesson in a setting that matters here: one the lesson sets, or
        one a fix changes (a form fills in the rest, a model's defaults, without changing the network;
        more epochs only let it run on after the answer)."""
        names = {f for f, v in self.cfg.to_dict().items() if v != DEFAULTS.get(f)} | FIXES
        return any(getattr(cfg, f) != getattr(self.cfg, f) for f in names - {"name", "epochs"})

    def link(self, base_url: str | None = "") -> str:
        return encode(self.cfg, self.locked, base_url, inside=self.key)


LESSONS = (
    InsideLesson("deep-sigmoid", "A 10-layer sigmoid MLP", DEEP,
                 "Ten hidden layers of 64 sigmoid units on MNIST. Watch the gradient norms per layer: what will "
                 "happen inside?", "vanishing"),
    InsideLesson("deep-relu", "The same with ReLU", replace(DEEP, activation="relu"),
                 "The same ten layers, with ReLU instead of sigmoid (and PyTorch's default starting weights). What "
                 "will happen inside?", "dead-relu"),
    InsideLesson("deep-sigmoid-bn", "The same with batch norm", replace(DEEP, batch_norm=True),
                 "The ten sigmoid layers again, each with batch normalisation before its sigmoid. What will "
                 "happen inside?", NONE),
    InsideLesson("relu-lr-1", "ReLU with a learning rate of 1",
                 TrainConfig(dataset="mnist-mini", model="mlp", hidden=(128, 128), activation="relu", epochs=1,
                             stats_every=EVERY, optimizer="sgd", lr=1.0, momentum=0.0),
                 "Two hidden layers of 128 ReLUs, plain SGD at learning rate 1 (a hundred times the usual). "
                 "What will happen inside?", "dead-relu"),
)
BY_KEY = {lesson.key: lesson for lesson in LESSONS}


@dataclass(frozen=True)
class Reveal:
    got: str                       # an OUTCOMES key: what the run showed
    finding: Finding | None        # the alarm that answered it (None: the run ended without one)
    final: bool                    # the run ended (else the expected finding appeared while it ran)


def reveal(lesson: InsideLesson, seen: list[Finding], ended: bool) -> Reveal | None:
    """The answer, once it is known: when the lesson's finding is among `seen` (the alarms raised so far,
    nets.coach.dynamics.first_findings), else when the run `ended` (with the first alarm it raised, or
    none). None while the run goes on without the answer."""
    kinds = {f.kind: f for f in seen if f.kind in OUTCOMES}
    if lesson.answer in kinds:
        return Reveal(lesson.answer, kinds[lesson.answer], ended)
    if not ended:
        return None
    first = next(iter(kinds.values()), None)
    return Reveal(first.kind if first else NONE, first, True)
