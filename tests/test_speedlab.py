"""The speed lab's experiment (nets.speedlab): each trick turned off changes exactly its switch, an ablation is the
full recipe then one run per trick, and the table compares runs of the same size with their full recipe."""
import pytest

from nets import speedlab
from nets.engine.config import PRESETS, validate


@pytest.mark.parametrize("trick", list(speedlab.TRICKS))
def test_turning_a_trick_off_changes_only_its_switch(trick):
    full, off = speedlab.recipe("airbench94-mini"), speedlab.recipe("airbench94-mini", (trick,))
    changed = {k for k, v in full.to_dict().items() if off.to_dict()[k] != v} - {"name"}
    assert changed == set(speedlab.TRICKS[trick].off)
    validate(off)  # still a configuration that trains
    assert speedlab.TRICKS[trick].label.lower() in off.name


def test_the_full_recipe_is_the_preset_and_flips_stay_when_alternation_goes():
    full = speedlab.recipe("airbench94", epochs=3)
    assert full.to_dict() | {"name": "", "epochs": 10} == PRESETS["airbench94"].to_dict() | {"name": ""}
    assert speedlab.recipe("airbench94", ("flip_alt",)).augment == ("translate", "flip")  # random flips instead
    assert speedlab.recipe("airbench94", ("flip_alt", "translate")).augment == ("flip",)


def test_an_ablation_is_the_full_recipe_then_one_trick_off_each():
    cfgs = speedlab.ablation("airbench94-mini", ("tta", "lookahead"), epochs=1)
    assert [c.tta for c in cfgs] == [2, 0, 2] and [c.lookahead for c in cfgs] == [5, 5, 0]
    assert {c.epochs for c in cfgs} == {1} and len({c.name for c in cfgs}) == 3


def test_the_table_compares_within_a_size():
    rows = [speedlab.Row((), 0.90, 10.0, 12.0, "5 epochs"), speedlab.Row(("tta",), 0.88, 9.0, 10.0, "5 epochs"),
            speedlab.Row((), 0.70, 2.0, 3.0, "1 epoch"), speedlab.Row(("whiten",), 0.65, 2.5, 3.5, "1 epoch")]
    t = speedlab.table(rows).set_index(["size", "recipe"])
    assert t.loc[("5 epochs", "without test-time augmentation"), "Δ accuracy (points)"] == pytest.approx(-2.0)
    assert t.loc[("1 epoch", "without frozen patch-whitening first layer"), "Δ training s"] == pytest.approx(0.5)
    assert t.loc[("5 epochs", "full recipe"), "Δ accuracy (points)"] == 0
    alone = speedlab.table([speedlab.Row(("tta",), 0.8, 1.0, 2.0, "x")])
    assert alone["Δ accuracy (points)"].isna().all()  # nothing to compare with: no number made up


@pytest.mark.parametrize("preset", list(speedlab.PRESET_NAMES))
def test_every_recipe_has_a_cost_the_budget_can_check(preset):
    """The job service refuses a configuration whose cost it cannot estimate (a meta-device forward)."""
    from nets.server.costs import estimate
    for cfg in speedlab.ablation(preset):
        assert estimate(cfg).seconds > 0


def test_training_time_leaves_the_evaluation_out():
    epochs = [{"images_per_s": 1000.0, "seconds": 9.0}, {"images_per_s": 500.0, "seconds": 9.0}]
    assert speedlab.training_seconds(epochs, 3000) == pytest.approx(3.0 + 6.0)
