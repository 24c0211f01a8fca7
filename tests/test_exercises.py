"""The builder's exercises (nets/link/exercises.py) and its link (nets/link/build.py): pure logic, no page."""
from types import SimpleNamespace

import pytest

from nets.engine import netshape, netspec
from nets.engine.catalog import input_shape, num_classes
from nets.engine.config import TrainConfig, validate
from nets.engine.netbuild import template
from nets.inspect import netview
from nets.link import build as links
from nets.link import exercises as ex


def analysed(layers, dataset):
    return netshape.analyse(layers, input_shape(dataset), num_classes(dataset))


def test_every_exercise_has_its_why_and_a_starting_network_that_is_sound():
    for e in ex.EXERCISES:
        assert e.right() in e.choices and e.task
        for case in (e.cases or [None]):
            key = case.key if case else ""
            assert e.right(key) in e.choices
            assert len(e.why(key)) > 200
            assert analysed(e.starting_layers(key), e.dataset).ok, (e.key, key)


def test_the_first_exercise_reveals_measured_counts():
    text = ex.reveal_smaller()
    # LeNet 8,490 and mlp(128) 101,770 on MNIST; cnn5 497,738 and the MLP 394,634 on CIFAR-10 (plan24's counts)
    for number in ("101,770", "8,490", "12×", "100,480", "497,738", "394,634", "409,856"):
        assert number in text, number
    right, said = ex.verdict(ex.BY_KEY["smaller"], "mlp")
    assert right and "you predicted this" in said
    right, said = ex.verdict(ex.BY_KEY["smaller"], None)
    assert not right and "no prediction" in said


def test_the_smaller_task_is_checked_live():
    e = ex.BY_KEY["smaller"]
    cnn5 = e.starting_layers()
    assert not ex.check(e, cnn5, analysed(cnn5, "cifar10")).done
    # one more pooling before Flatten: 64×2×2 into Linear 1, both convolutions kept
    i = netspec.labels(cnn5).index("Flatten 1")
    smaller = cnn5[:i] + (netspec.layer("maxpool", kernel=2),) + cnn5[i:]
    got = ex.check(e, smaller, analysed(smaller, "cifar10"))
    assert got.done and "2 convolutions" in got.text
    one_conv = tuple(d for n, d in zip(netspec.labels(smaller), smaller) if n != "Conv 2")
    assert "Keep both convolutions" in ex.check(e, one_conv, analysed(one_conv, "cifar10")).text
    broken = cnn5[:i] + cnn5[i + 1:]
    assert "problems first" in ex.check(e, broken, analysed(broken, "cifar10")).text


def test_under_ten_thousand_parameters_then_the_verdict_from_the_newest_finished_run():
    e = ex.BY_KEY["small-98"]
    mlp = e.starting_layers()
    assert not ex.check(e, mlp, analysed(mlp, "mnist")).done
    lenet = template("lenet", (1, 28, 28))
    assert ex.check(e, lenet, analysed(lenet, "mnist")).done

    def row(name, status, accuracy, params):
        return SimpleNamespace(name=name, status=status, accuracy=accuracy, params=params)
    assert ex.reveal_small([]) is None
    assert ex.reveal_small([row("r", "running", None, 8490), row("f", "failed", None, 8490)]) is None
    got = ex.reveal_small([row("running", "running", None, 8490), row("good", "completed", 0.9851, 8490),
                           row("older", "completed", 0.5, 8490)])
    assert got.done and "good" in got.text and "98.51%" in got.text
    assert not ex.reveal_small([row("big", "completed", 0.99, 12_000)]).done
    assert "not yet 98%" in ex.reveal_small([row("weak", "stopped", 0.97, 9000)]).text


@pytest.mark.parametrize("case,words", [("deep-sigmoid", "BatchNorm"), ("relu-output", "after the output"),
                                         ("linear-stack", "nothing between")])
def test_why_does_it_not_learn_quotes_the_builders_warning(case, words):
    e = ex.BY_KEY["not-learning"]
    assert any(words in w for w in ex.reveal_warnings(e, case))
    layers = e.starting_layers(case)
    assert not ex.check(e, layers, analysed(layers, e.dataset)).done
    fixed = netspec.from_text("flatten,linear_128,relu,linear")
    assert ex.check(e, fixed, analysed(fixed, e.dataset)).done


def test_a_build_link_round_trips_and_never_raises():
    lenet = template("lenet", (1, 28, 28))
    url = links.encode(lenet, "cifar10", 32, "not-learning", "relu-output")
    params = dict(p.split("=", 1) for p in url.lstrip("?").split("&"))
    got = links.decode(params)
    assert (got.layers, got.dataset, got.batch_size, got.exercise, got.case, got.problems) == \
        (lenet, "cifar10", 32, "not-learning", "relu-output", [])
    # a broken shape is shared as it is (a network for the class to fix); a bad token falls back, named
    assert links.decode({"lesson": "1", "layers": "conv_6,linear"}).layers == netspec.from_text("conv_6,linear")
    for hostile in ("convv_3", "x" * 5000, "conv_99999", "relu," * 200, "<script>alert(1)</script>"):
        bad = links.decode({"lesson": "1", "layers": hostile, "dataset": "folder", "exercise": "../etc"})
        assert bad.layers == () and bad.dataset == links.DEFAULT_DATASET and bad.exercise == ""
        assert len(bad.problems) == 3 and all(len(p) < 400 for p in bad.problems)


def test_train_this_network_makes_a_config_that_validates():
    lenet = template("lenet", (1, 28, 28))
    cfg = links.train_config(TrainConfig(model="mlp", hidden=(64, 32), dataset="fashion-mnist-mini"), lenet,
                             "mnist-mini", 32)
    validate(cfg)
    assert (cfg.model, cfg.layers, cfg.dataset, cfg.batch_size, cfg.hidden) == \
        ("custom", lenet, "mnist-mini", 32, TrainConfig().hidden)


def test_the_builders_table_and_summary():
    lenet = template("lenet", (1, 28, 28))
    rows = netview.builder_rows(lenet, (1, 28, 28), 10)
    assert [r["parameters"] for r in rows if r["parameters"]] == [260, 5020, 3210]
    assert rows[0]["param formula"] == "(5·5·1+1)·10 = 260" and "= 24" in rows[0]["size formula"]
    a = netshape.analyse(lenet, (1, 28, 28), 10)
    assert netview.summary(a, (1, 28, 28), 10, 6.4, 64) == \
        "1×28×28 → 10 classes · **8,490 parameters** · 0.47 M multiply-adds per image · ≈ 6 MB at batch 64"
    # after the first problem: every layer still listed, the rest unknown, no formulas
    broken = lenet[:7] + lenet[8:]
    rows = netview.builder_rows(broken, (1, 28, 28), 10)
    assert len(rows) == len(broken) and rows[-1]["check"] == netview.PROBLEM
    assert not any(r["param formula"] for r in rows)
    # a residual block is one row, its modules its parts, their parameters adding up
    small = template("small-resnet", (3, 32, 32))
    res = next(r for r in netview.builder_rows(small, (3, 32, 32), 10) if r["layer"] == "Res 2")
    assert sum(p["params"] for p in res["parts"]) == res["parameters"] == 14_528
    assert "shortcut" in res["param formula"]
