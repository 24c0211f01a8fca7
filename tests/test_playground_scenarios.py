"""Predict-then-play scenarios (nets/playground/scenarios.py) and the verdict on a loss history (verdict.py)."""
import math

import pytest

from nets.playground import scenarios, verdict
from nets.playground.link import problem
from nets.playground.state import new_state
from nets.playground.train import epoch_batches, step


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.key)
def test_each_scenario_shows_its_answer(scenario):
    cfg = scenario.config()
    assert problem(cfg) is None and scenario.answer in verdict.OUTCOMES
    state = new_state(cfg, 0)  # the page's seed after Set up; the batches are the same however Play chunks them
    step(state, 0)
    for _ in range(scenarios.EPOCHS):
        step(state, epoch_batches(state))
    got = verdict.verdict(state.history, verdict.guess_loss(state))
    assert got.kind == scenario.answer, (got, [round(h[1], 3) for h in state.history[::5]])


def test_verdict_rules_on_hand_made_histories():
    guess = 0.5
    curve = lambda *losses: [(i, v, v) for i, v in enumerate(losses)]
    assert verdict.verdict(curve(0.5, 0.8, float("nan")), guess).kind == "diverged"
    assert "epoch 2" in verdict.verdict(curve(0.5, 0.8, float("nan")), guess).message
    assert verdict.verdict(curve(0.5, 0.7, 0.9, 0.9, 0.9), guess).kind == "diverged"
    assert verdict.verdict(curve(0.5, 0.49, 0.48, 0.48, 0.47), guess).kind == "stuck"
    assert verdict.verdict(curve(0.8, 0.5, 0.5, 0.5), guess).kind == "stuck"  # fell to the guess, no further
    assert verdict.verdict(curve(0.5, 0.4, 0.3, 0.25, 0.25), guess).kind == "slow"
    assert verdict.verdict(curve(0.5, 0.3, 0.05, 0.02, 0.01), guess).kind == "good"
    with pytest.raises(ValueError):
        verdict.verdict([], guess)


def test_guess_loss_is_a_constant_output_s_loss():
    state = new_state(scenarios.BY_KEY["control"].config(), 0)
    assert abs(verdict.guess_loss(state) - 0.5) < 0.01  # ±1 labels, about balanced: ½·var ≈ ½
    ce = new_state(scenarios.BY_KEY["control"].config().changed(loss="cross-entropy"), 0)
    assert abs(verdict.guess_loss(ce) - math.log(2)) < 0.01
    k = new_state(scenarios.BY_KEY["control"].config().changed(dataset="blobs-k", classes=3), 0)
    assert 0.3 < verdict.guess_loss(k) < 0.35  # ½·Σ p(1 − p) with p ≈ 1/3 each: 1/3
