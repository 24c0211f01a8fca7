"""The one link codec (nets/link/codec.py): a field table round-trips through its URL, and a bad value
falls back by the one rule on a table of its own and on both of the app's tables (Train, Playground)."""
from urllib.parse import parse_qsl, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from nets.engine.config import TrainConfig
from nets.link import train
from nets.link.codec import IDENTITY_PARAMS, PAGE_PARAMS, Field, Table, settle
from nets.playground import link as playground
from nets.playground.state import PlaygroundConfig
from nets.server.identity import URL_PARAMS


def check(values: dict) -> str | None:
    """A toy page's rules: `deep` needs `layers` above 1; `start` must have one number per layer."""
    if values["deep"] and values["layers"] < 2:
        return "deep needs two layers or more"
    if values["start"] is not None and len(values["start"]) != values["layers"]:
        return f"{values['layers']} layers need {values['layers']} numbers"
    return None


TOY = Table("toy", (
    Field("deep", "bool", False),                                      # declared before what it needs
    Field("layers", "int", 1, bounds=(1, 6, 1)),
    Field("rate", "float", 0.1, choices=(0.01, 0.1, 1.0)),
    Field("name", "str", ""),
    Field("sizes", "tuple[int, ...]", (4,), bounds=(1, 8, 1)),
    Field("inputs", "tuple[str, ...]", ("x",), choices=("x", "y", "z")),
    Field("dropout", "float | None", None, bounds=(0.0, 0.5, 0.05)),
    Field("start", "tuple[float, ...]", None, lockable=False, after=True, digits=6),
), check)


def query(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


values = st.fixed_dictionaries({
    "layers": st.integers(1, 6), "rate": st.sampled_from([0.01, 0.1, 1.0]), "name": st.text(max_size=20),
    "sizes": st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple),
    "inputs": st.lists(st.sampled_from("xyz"), min_size=1, max_size=3, unique=True).map(tuple),
    "dropout": st.none() | st.sampled_from([i / 20 for i in range(11)]), "deep": st.booleans(),
    "with_start": st.booleans()})


@settings(max_examples=100, deadline=None)
@given(values, st.sets(st.sampled_from(TOY.lockable)))
def test_a_field_table_round_trips_through_its_link(v, locked):
    v = dict(v, deep=v["deep"] and v["layers"] > 1,
             start=tuple(0.5 + i for i in range(v["layers"])) if v.pop("with_start") else None)
    url = TOY.encode(v, locked, "http://h:1/app")
    assert url.startswith("http://h:1/app/toy?lesson=1")
    got = TOY.decode(query(url))
    assert got.values == v and got.locked == frozenset(locked) and got.problems == []


def test_the_link_holds_only_changes_then_the_locks_then_what_is_settled_last():
    v = TOY.defaults() | {"layers": 2, "sizes": (3, 2), "start": (0.1234567, 2.0)}
    assert TOY.params(v, {"sizes", "start", "layers"}) == {
        "lesson": "1", "layers": "2", "sizes": "3,2", "hide": "layers,sizes", "start": "0.123457,2"}
    assert TOY.encode(TOY.defaults()) == "?lesson=1"


def test_a_bad_value_falls_back_to_its_default_and_the_rest_of_the_link_applies():
    got = TOY.decode({"lesson": "1", "rate": "0.5", "layers": "x", "sizes": "3,9", "inputs": "x,w",
                      "dropout": "0.33", "name": "a b", "hide": "rate,start,colour", "colour": "red"})
    assert got.values == TOY.defaults() | {"name": "a b"}
    assert got.locked == {"rate"}
    assert got.problems == ["rate=0.5 (must be one of 0.01, 0.1, 1.0)", "layers ('x' is not a whole number)",
                            "sizes=3,9 (each must be from 1 to 8)", "inputs=x,w (each must be one of x, y, z)",
                            "dropout=0.33 (must be from 0 to 0.5 in steps of 0.05)",
                            "hide ('start' is not a setting)", "hide ('colour' is not a setting)",
                            "colour (not a setting of this page)"]


def test_values_that_need_each_other_are_kept_whatever_the_table_order():
    # `deep` comes before the `layers` it needs: it gets in on the second pass, and the value that fits
    # nothing is named with the reason of the settled whole
    got = TOY.decode({"lesson": "1", "deep": "1", "layers": "3", "start": "1,2"})
    assert got.values == TOY.defaults() | {"deep": True, "layers": 3}
    assert got.problems == ["start=1,2 (3 layers need 3 numbers)"]
    kept, refused = settle({"a": 0, "b": 0}, {"a": 1, "b": 1}, lambda v: "a needs b" if v["a"] > v["b"] else None)
    assert kept == {"a": 1, "b": 1} and refused == {}


def test_the_train_table_falls_back_by_the_one_rule():
    # dataset=folder needs the folder declared after it; model=vgg fits nothing; lr cannot be read
    got = train.decode({"lesson": "1", "dataset": "folder", "folder": "pets", "model": "vgg", "lr": "abc",
                        "epochs": "3", "hide": "epochs,four"})
    assert got.cfg == TrainConfig(dataset="folder", folder="pets", epochs=3)
    assert got.hidden == {"epochs", "four"} and not got.four
    assert got.problems == ["lr ('abc' is not a number)",
                            "model=vgg (model 'vgg' is not one of mlp, lenet, cnn5, gated-cnn, resnet18, resnet34, custom, airbench)"]
    assert [f.name for f in train.TABLE.fields] == [*train.FIELD_TYPES, "four", "inside"]


def test_the_playground_table_falls_back_by_the_one_rule():
    cfg = PlaygroundConfig().changed(dataset="xor", hidden=(3,), features=("x1", "x2", "x1x2"))
    weights = [0.5] * playground.weight_count(cfg)
    # each bad value: its default, named; the rest of the link and the weights (settled last) apply
    got = playground.decode(playground.params(cfg, {"dataset"}, weights) | {
        "noise": "x", "learning_rate": "0.05", "dropout": "0.07", "classes": "9"})
    assert got.cfg == cfg and got.hidden == {"dataset"} and got.weights == tuple(weights)
    assert got.problems == ["noise ('x' is not a whole number)", "learning_rate=0.05 (must be one of 1e-05, "
                            "0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)",
                            "dropout=0.07 (must be from 0 to 0.5 in steps of 0.05)",
                            "classes=9 (must be from 3 to 6)"]
    # weights that do not fit the settled network leave it alone and start it from random ones
    got = playground.decode(playground.params(cfg, weights=weights[:-1]))
    assert got.cfg == cfg and got.weights is None
    n = len(weights)
    assert got.problems == [f"weights={','.join(['0.5'] * (n - 1))} (this network has {n} weights and biases, the "
                            f"link gives {n - 1}; the network starts from random weights)"]
    assert playground.problem(cfg.changed(learning_rate=0.05)).startswith("learning_rate must be one of")


def test_the_apps_own_parameters_are_no_settings_and_the_identitys_are_the_codecs():
    assert URL_PARAMS == IDENTITY_PARAMS and PAGE_PARAMS == IDENTITY_PARAMS | {"job"}
    for table in (train.TABLE, playground.TABLE, TOY):
        assert not PAGE_PARAMS & set(table.by_name)


def test_a_network_rides_in_a_link_as_its_text_form():
    from nets.engine.netspec import from_text
    layers = from_text("conv_8_k3_p1,relu,maxpool_2,residual_16_s2,gap,flatten,linear")
    cfg = TrainConfig(model="custom", layers=layers)
    url = train.encode(cfg)
    assert "layers=conv_8_p1,relu,maxpool_2,residual_16_s2,gap,flatten,linear" in url
    got = train.decode(dict(parse_qsl(url[1:])))
    assert got.cfg == cfg and not got.problems
    bad = train.decode({"lesson": "1", "model": "custom", "layers": "conv_8,convv_3"})
    assert bad.cfg.layers == () and "did you mean conv?" in bad.problems[0]
    broken = train.decode({"lesson": "1", "model": "custom", "layers": "conv_8,relu,linear"})  # reads, cannot train
    assert broken.cfg.layers == () and "insert Flatten before Linear 1" in broken.problems[0]
    long = train.decode({"lesson": "1", "model": "custom", "layers": ",".join(["relu"] * 400)})
    assert long.cfg.layers == () and long.problems
