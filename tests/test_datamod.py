"""The data lab's modified training sets (nets.engine.datamod, TrainConfig.data_mod): exactly what the text
says (counts per class, flip matrices), reproducible by seed, test and validation sets untouched, and the
field's trip through validate, names, the command line, lesson links, costs and the code export."""
import ast
from dataclasses import replace
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import torch

from nets.cli import build_parser, config_from_args
from nets.engine import datamod
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.datamod import DataMod, DataModError, apply, describe, parse, share, short, text
from nets.engine.naming import MAX_NAME, common_part, default_name
from nets.export.code import readme, train_script
from nets.link import train as link
from nets.server.costs import estimate

C = 10


def labels(per_class=(25,) * C) -> torch.Tensor:
    """Shuffled labels with `per_class[c]` images of class c."""
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class)])
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(7))]


def matrix(true, given) -> np.ndarray:
    m = np.zeros((C, C), dtype=int)
    np.add.at(m, (true.numpy(), given.numpy()), 1)
    return m


# ----------------------------------------------------------------------------- text form
@pytest.mark.parametrize("raw, canonical", [
    ("", ""), (" ; ", ""), ("flip:30", "flip:30"), ("flip: 12.50", "flip:12.5"), ("clean:5", "clean:5"),
    ("keep:5,3@10", "keep:3,5@10"), ("clean:3; flip:7>1@30 ;keep:2@0.25", "keep:2@0.25;flip:7>1@30;clean:3"),
    ("FLIP:7>1@30,3>8@20", "flip:3>8@20,7>1@30"), ("flip:7>1@60,7>2@40", "flip:7>1@60,7>2@40"),
])
def test_text_form_round_trips_in_canonical_order(raw, canonical):
    mod = parse(raw, C)
    assert text(mod) == canonical and parse(canonical) == mod and bool(mod) == bool(canonical)


@pytest.mark.parametrize("raw, words", [
    ("flip:0", "above 0"), ("keep:3@100.5", "at most 100"), ("flip:1.234", "neither"), ("keep:3", "classes@percent"),
    ("keep:3,3@10", "twice"), ("flip:7>7@10", "as itself"), ("flip:7>1@60,7>2@50", "more than 100%"),
    ("flip:7>1@5,7>1@6", "same pair"), ("clean:1", "2 to 10"), ("clean:11", "2 to 10"), ("drop:3", "not keep"),
    ("flip:30;flip:7>1@3", "two flip steps"), ("keep:10@50", "not one of this dataset's 10 classes"),
    ("flip:9>10@5", "class 10"),
])
def test_bad_text_is_a_config_error_in_words(raw, words):
    with pytest.raises(DataModError, match=words):
        parse(raw, C)
    assert issubclass(DataModError, ConfigError)


def test_words_and_short_form():
    digits = [str(i) for i in range(C)]
    mod = parse("keep:3,5@10;flip:7>1@30;clean:5")
    assert describe(mod, digits).startswith("10% of 3s and 5s kept; 30% of 7s labelled 1; ")
    assert short(mod) == "keep 3,5 10% · flip 7→1 30% · clean 5-fold"
    assert describe(parse("flip:30"), digits) == "30% of labels flipped at random"
    assert describe(parse("flip:1>2@5"), ["T-shirt", "Coat", "Sandal"]) == "5% of 'Coat' images labelled Sandal"
    assert describe(DataMod(), digits) == short(DataMod()) == ""


# ----------------------------------------------------------------------------- apply: exactly what it says
def test_keep_takes_the_stated_share_of_the_chosen_classes_only():
    y = labels((25, 40, 7, 25, 25, 25, 25, 25, 25, 3))
    m = apply(parse("keep:0,2,9@10"), y, C, seed=0)
    counts = torch.bincount(y[m.keep], minlength=C).tolist()
    assert counts == [3, 40, 1, 25, 25, 25, 25, 25, 25, 1]  # 2.5 → 3 (halves up), 0.7 → 1, 0.3 → at least 1
    assert torch.equal(m.keep, m.keep.sort().values) and torch.equal(m.labels, m.true) and torch.equal(m.true, y[m.keep])
    assert share(10, 25) == 3 and share(30, 10) == 3 and share(12.5, 8) == 1


def test_flip_pairs_give_exactly_the_stated_matrix():
    y = labels((20, 20, 20, 20, 20, 20, 20, 33, 20, 20))
    m = apply(parse("flip:7>1@30,7>2@10,3>8@50"), y, C, seed=3)
    expected = np.diag(torch.bincount(y, minlength=C).numpy())
    expected[7, 7], expected[7, 1], expected[7, 2] = 33 - 10 - 3, 10, 3   # 9.9 → 10, 3.3 → 3, disjoint images
    expected[3, 3], expected[3, 8] = 10, 10
    assert (matrix(m.true, m.labels) == expected).all()
    assert int(m.flipped.sum()) == 23 and torch.equal(m.keep, torch.arange(len(y)))


def test_symmetric_flip_moves_the_stated_share_to_other_classes_at_random():
    y = labels((100,) * C)
    m = apply(parse("flip:30"), y, C, seed=1)
    flipped = m.flipped
    assert int(flipped.sum()) == 300 and torch.equal(m.true, y)
    off = matrix(m.true[flipped], m.labels[flipped])
    assert np.trace(off) == 0 and (off.sum(1) > 15).all() and (off.sum(0) > 15).all()  # every class, every target
    assert (off[~np.eye(C, dtype=bool)] > 0).mean() > 0.9                             # nearly every pair


def test_keep_then_flip_counts_the_kept_images():
    y = labels()
    m = apply(parse("keep:7@40;flip:7>1@50"), y, C, seed=0)
    assert (m.true == 7).sum() == 10 and ((m.true == 7) & (m.labels == 1)).sum() == 5


def test_same_seed_same_set_another_seed_another():
    y = labels((60,) * C)
    mod = parse("keep:2,4@30;flip:25")
    a, b, c = apply(mod, y, C, 0), apply(mod, y, C, 0), apply(mod, y, C, 1)
    assert all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("keep", "labels", "true"))
    assert not torch.equal(a.keep, c.keep) and not torch.equal(a.flipped, c.flipped)
    assert len(a.keep) == len(c.keep) and int(a.flipped.sum()) == int(c.flipped.sum())


# ----------------------------------------------------------------------------- through prepare_data
def test_prepare_data_modifies_the_training_set_only():
    from nets.experiment import modification_info, prepare_data
    clean_cfg = TrainConfig(dataset="mnist-mini", val_fraction=0.1, train_per_class=100)
    cfg = replace(clean_cfg, data_mod="keep:3@20;flip:7>1@30")
    clean, data = prepare_data(clean_cfg), prepare_data(cfg)
    for split in ("x_test", "y_test", "x_val", "y_val"):
        assert torch.equal(getattr(clean, split), getattr(data, split)), split
    m = apply(parse(cfg.data_mod), clean.y_train, C, cfg.seed)
    assert torch.equal(data.x_train, clean.x_train[m.keep]) and torch.equal(data.y_train_true, clean.y_train[m.keep])
    assert torch.bincount(data.y_train_true).tolist() == [100, 100, 100, 20, 100, 100, 100, 100, 100, 100]
    assert torch.bincount(data.y_train).tolist() == [100, 130, 100, 20, 100, 100, 100, 70, 100, 100]
    assert clean.y_train_true is None and clean.label_check is None and data.mean == clean.mean
    info = modification_info(cfg, data)["data_mod"]
    assert info == {"text": cfg.data_mod, "words": "20% of 3s kept; 30% of 7s labelled 1", "train_images": 920,
                    "flipped": 30}


def test_a_clean_step_calls_the_datalab_with_the_config_without_it(monkeypatch):
    from nets.experiment import data_key, prepare_data
    pytest.importorskip("nets.datalab.crossval")
    calls = []

    def fake_clean(cfg, data, k, on_progress=None, stop=None, index=None):
        calls.append((cfg.data_mod, k, index, len(data.y_train)))
        return replace(data, x_train=data.x_train[:5], y_train=data.y_train[:5]), "the check"

    monkeypatch.setattr("nets.datalab.crossval.clean", fake_clean)
    cfg = TrainConfig(dataset="mnist-mini", train_per_class=20, data_mod="keep:0@50;clean:3")
    data = prepare_data(cfg)
    (mod_text, k, index, n), = calls
    assert (mod_text, k, n) == ("keep:0@50", 3, 190) and len(index) == 190 and data.label_check == "the check"
    assert len(data.y_train) == 5 and data_key(cfg, "d") != data_key(replace(cfg, data_mod=""), "d")


# ----------------------------------------------------------------------------- the field's trip
def test_a_config_holds_the_canonical_text():
    assert TrainConfig(data_mod=" clean:3;flip : 30").data_mod == "flip:30;clean:3"
    assert TrainConfig(data_mod="flip:300").data_mod == "flip:300"  # kept for validate() to explain


def test_validate_checks_classes_where_the_count_is_known():
    validate(TrainConfig(data_mod="keep:9@5;flip:30;clean:4"))
    with pytest.raises(ConfigError, match="class 10 is not one"):
        validate(TrainConfig(data_mod="flip:10>1@5"))
    validate(TrainConfig(dataset="folder", folder="mine", data_mod="flip:12>1@5"))  # counted where it loads
    with pytest.raises(ConfigError, match="not keep"):
        validate(TrainConfig(dataset="folder", folder="mine", data_mod="nonsense"))


def test_names_tell_the_clean_run_from_the_modified_ones():
    base = TrainConfig(dataset="fashion-mnist-mini", model="mlp", hidden=(256, 128), train_per_class=100)
    mods = ["", "flip:30", "flip:7>1@30", "keep:3,5@10;flip:7>1@30", "flip:30;clean:5",
            "keep:0,1,2,3@12.5;flip:7>1@30,3>8@20;clean:10"]
    names = [default_name(replace(base, data_mod=m)) for m in mods]
    assert len(set(names)) == len(names) and all(len(n) <= MAX_NAME for n in names)
    assert names[0] == default_name(base) and "flip 30%" in names[1] and "flip 7→1 30%" in names[2]
    simple = [default_name(TrainConfig(data_mod=m)) for m in mods[:3]]
    assert common_part(simple) == ("lenet · mnist-mini", ["sgd lr 0.01 · cross-entropy",
                                                          "flip 30% · sgd lr 0.01 · cross-entropy",
                                                          "flip 7→1 30% · sgd lr 0.01 · CE"])


def test_command_line_reads_the_canonical_form_and_refuses_nonsense(capsys):
    args = build_parser().parse_args(["--data-mod", "flip: 30 ; keep:5,3@10"])
    assert config_from_args(args).data_mod == "keep:3,5@10;flip:30"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--data-mod", "flip:7>7@3"])
    assert "as itself" in capsys.readouterr().err


def test_a_lesson_link_carries_the_modification():
    mod = "keep:0,1,2,3,4,5,6,7,8@12.25;flip:" + ",".join(f"{c}>{(c + 1) % C}@1{c}.75" for c in range(C)) + ";clean:10"
    assert len(mod) >= 120
    cfg = TrainConfig(dataset="mnist-mini", data_mod=mod, epochs=3)
    lesson = link.decode(parse_qs(urlsplit(link.encode(cfg, {"data_mod"})).query))
    assert lesson.cfg == cfg and lesson.hidden == {"data_mod"} and not lesson.problems
    bad = link.decode(parse_qs(urlsplit(link.encode(replace(cfg, data_mod="flip:7>12@3"))).query))
    assert bad.cfg.data_mod == "" and bad.problems


def test_costs_count_the_kept_images_and_the_fold_trainings():
    base = TrainConfig(dataset="mnist-mini", device="cpu")
    plain, kept = estimate(base), estimate(replace(base, data_mod="keep:3,5@10;flip:30"))
    assert plain.images == 6000 and kept.images == 6000 - 2 * (600 - 60)
    cleaned = estimate(replace(base, data_mod="flip:30;clean:5"))
    assert cleaned.images == 6000 and 5 * plain.seconds < cleaned.seconds < 6.5 * plain.seconds


# ----------------------------------------------------------------------------- the code export
def fake_run(data_mod: str) -> SimpleNamespace:
    cfg = TrainConfig(dataset="mnist-mini", data_mod=data_mod, seed=4)
    return SimpleNamespace(config=cfg, name="digits", info={"input_shape": [1, 28, 28], "num_classes": C,
                                                            "classes": [str(i) for i in range(C)]})


def exported_modify(source: str):
    """train.py's constants and modify_training_set, run on their own (train.py imports model.py)."""
    tree = ast.parse(source)
    keep = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("share", "modify_training_set")
            or isinstance(n, ast.Assign) and any(getattr(t, "id", "") in ("SEED", "KEEP", "FLIP_ALL", "FLIPS",
                                                                          "NUM_CLASSES") for t in n.targets)
            or isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple)]
    scope = {"torch": torch}
    exec(compile(ast.Module(keep, []), "train.py", "exec"), scope)
    return scope["modify_training_set"]


@pytest.mark.parametrize("data_mod", ["keep:3,5@10;flip:7>1@30,7>2@10", "flip:30", "keep:0@1"])
def test_exported_train_py_draws_the_same_modified_set(data_mod):
    run = fake_run(data_mod)
    source = train_script(run, "mnist-mini.npz")
    compile(source, "train.py", "exec")
    y = labels((40,) * C)
    x = torch.arange(len(y))
    xs, given, true = exported_modify(source)(x, y)
    m = apply(parse(data_mod), y, C, seed=4)
    assert torch.equal(xs, m.keep) and torch.equal(given, m.labels) and torch.equal(true, m.true)
    assert "modified training set" in source and "cleanlab" not in source


def test_export_says_what_it_does_not_repeat():
    run = fake_run("flip:30;clean:5")
    source = train_script(run, None)
    assert "does not repeat that step" in source and "modify_training_set(x_train, y_train)" in source
    note = readme(run, None, None)
    assert "30\\% of labels flipped at random (the test set stayed clean)" in note
    assert "dropped the images cleanlab flagged after 5-fold cross-validation" in note
    assert "modify_training_set" not in train_script(fake_run(""), None)
    assert "modified training set" not in readme(fake_run(""), None, None)
