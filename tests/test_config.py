"""Training settings' ranges: stated once (nets.engine.options.SETTINGS), checked by validate(), drawn by the Train form."""
from dataclasses import fields, replace

import pytest

from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.options import OPTIONS, SETTINGS
from pagetools import open_page

NUMERIC = {f.name for f in fields(TrainConfig) if str(f.type) in ("int", "float")}


def test_every_numeric_setting_has_one_range_and_validate_checks_it():
    assert NUMERIC - set(OPTIONS) == set(SETTINGS)  # every plain number has a row, and only those do
    for name, s in SETTINGS.items():
        inside = [s.lo + (s.step or 1) if s.above else s.lo]
        outside = [s.lo, s.lo - (s.step or 1)] if s.above else [s.lo - (s.step or 1)]
        if s.hi is not None:
            inside.append(s.hi - (s.step or 1) if s.below else s.hi)
            outside += [s.hi] * s.below + [s.hi + (s.step or 1)]
        cast = int if s.kind == "int" else float
        for value in inside:
            validate(replace(TrainConfig(), **{name: cast(value)}))
        for value in outside:
            with pytest.raises(ConfigError, match=s.noun.split()[0]):
                validate(replace(TrainConfig(), **{name: cast(value)}))
    with pytest.raises(ConfigError, match=r"the learning rate must be above 0 and at most 1,000; you typed nan"):
        validate(TrainConfig(lr=float("nan")))
    with pytest.raises(ConfigError, match=r"the learning rate must be above 0 and at most 1,000; you typed -1\b"):
        validate(TrainConfig(lr=-1.0))  # issue 20: it said "0.0 must be above 0"
    with pytest.raises(ConfigError, match=r"the number of epochs must be from 1 to 10,000; you typed 0\b"):
        validate(TrainConfig(epochs=0))
    with pytest.raises(ConfigError, match=r"epochs must be from 1 to 10,000; you typed 10001"):
        validate(TrainConfig(epochs=10_001))


def test_the_train_forms_widgets_use_the_ranges_validate_checks(ckpt, monkeypatch):
    # a folder dataset, a stall rule and SGD: every conditional number widget is drawn
    cfg = TrainConfig(dataset="folder", converge_patience=3, optimizer="sgd", momentum=0.9)
    at = open_page("pages/train.py", ckpt, monkeypatch, {"train_cfg": cfg.to_dict()})
    drawn = {w.key[3:]: w for w in [*at.number_input, *at.slider] if str(w.key).startswith("tw_")}
    settings = {name: w for name, w in drawn.items() if name in NUMERIC and name not in OPTIONS}
    assert {"image_size", "val_fraction", "train_per_class", "seed", "lr", "momentum", "weight_decay", "epochs",
            "batch_size", "patience", "converge_patience", "converge_delta", "clip_grad"} <= set(settings)
    for name, w in settings.items():
        s = SETTINGS[name]
        if w.key in {x.key for x in at.slider}:
            assert (w.min, w.max) == (s.lo, s.hi), name
        else:  # a typed number is not clamped by the box: validate() says why it cannot train (issue 20)
            assert (w.min, w.max) == (None, None), name


def test_an_unknown_initialisation_names_the_default_among_the_choices():
    with pytest.raises(ConfigError, match=r"initialisation 'orthogonal' is not one of empty \(the default\), kaiming, xavier"):
        validate(TrainConfig(init="orthogonal"))
