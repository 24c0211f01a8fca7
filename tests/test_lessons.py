from dataclasses import fields
from urllib.parse import parse_qs, parse_qsl, urlsplit

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nets.engine.augment import AUGMENTATIONS
from nets.engine.config import LOSSES, OPTIMIZERS, PRESETS, SCHEDULES, ConfigError, TrainConfig, validate
from nets.engine.catalog import DATASETS
from nets.engine.models import ACTIVATIONS, MODELS, model_options
from nets.link.codec import is_lesson, parse_value, signature
from nets.link.train import FIELD_TYPES, Lesson, decode, encode

SIZES = st.lists(st.integers(1, 4096), min_size=1, max_size=4).map(tuple)


@st.composite
def configs(draw) -> TrainConfig:
    """Valid configurations, built so that most draws validate (a filter alone rejects nearly all)."""
    model = draw(st.sampled_from(list(MODELS)))
    opts = model_options(model)
    kw = {"model": model, "dataset": draw(st.sampled_from(DATASETS)),
          "optimizer": draw(st.sampled_from(OPTIMIZERS)), "loss": draw(st.sampled_from(LOSSES)),
          "schedule": draw(st.sampled_from(SCHEDULES)),
          "lr": draw(st.floats(1e-6, 1000)), "momentum": draw(st.floats(0, 0.99)),
          "weight_decay": draw(st.floats(0, 0.5)), "epochs": draw(st.integers(1, 10_000)),
          "batch_size": draw(st.integers(1, 65_536)), "val_fraction": draw(st.floats(0, 0.9)),
          "train_per_class": draw(st.integers(0, 10**6)), "image_size": draw(st.integers(8, 512)),
          "augment": tuple(draw(st.lists(st.sampled_from(list(AUGMENTATIONS)), unique=True, max_size=3))),
          "seed": draw(st.integers(0, 2**31)), "name": draw(st.text(max_size=30)),
          "amp": draw(st.booleans()), "channels_last": draw(st.sampled_from([None, True, False])),
          "clip_grad": draw(st.floats(0, 10)), "converge_delta": draw(st.floats(0, 1))}
    if kw["dataset"] == "folder":
        kw["folder"] = draw(st.text(min_size=1, max_size=40))
    if kw["optimizer"] == "sgd" and kw["momentum"] > 0:
        kw["nesterov"] = draw(st.booleans())
    for option, strategy in (("hidden", SIZES), ("channels", SIZES), ("fc", SIZES),
                             ("activation", st.sampled_from(["", *ACTIVATIONS])),
                             ("dropout", st.none() | st.floats(0, 0.9)), ("batch_norm", st.booleans()),
                             ("small_stem", st.sampled_from([None, True, False])),
                             ("pretrained", st.booleans()), ("train_blocks", st.integers(-1, 4)),
                             ("block_dropout", st.floats(0, 0.9)),
                             ("input_size", st.sampled_from([0, 16, 224, 512]))):
        if option in opts:
            kw[option] = draw(strategy)
    cfg = TrainConfig(**kw)
    try:
        validate(cfg)
    except ConfigError:
        assume(False)
    return cfg


def query(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


@settings(max_examples=150, deadline=None)
@given(configs(), st.sets(st.sampled_from(list(FIELD_TYPES)), max_size=5))
def test_a_valid_configuration_round_trips_through_its_link(cfg, hidden):
    url = encode(cfg, hidden, "https://lab.example.org/train")
    assert decode(query(url)) == Lesson(cfg, frozenset(hidden), [])
    # Streamlit's st.query_params hands over single strings, not parse_qs's lists
    assert decode(dict(parse_qsl(urlsplit(url).query))) == Lesson(cfg, frozenset(hidden), [])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(list(FIELD_TYPES) + ["hide", "lesson", "job", "x"]) | st.text(max_size=8),
                       st.text(max_size=20) | st.lists(st.text(max_size=10), max_size=3), max_size=8))
def test_any_parameters_decode_to_a_valid_configuration_without_raising(params):
    lesson = decode(params)
    validate(lesson.cfg)
    assert lesson.hidden <= set(FIELD_TYPES)


def test_the_link_is_readable_and_holds_only_changed_settings():
    cfg = TrainConfig(model="mlp", hidden=(256, 64), lr=0.05, augment=("crop", "flip"), nesterov=True)
    url = encode(cfg, {"lr", "optimizer"}, "http://localhost:8501/train")
    assert url == ("http://localhost:8501/train?lesson=1&model=mlp&hidden=256,64&lr=0.05&nesterov=1"
                   "&augment=crop,flip&hide=optimizer,lr")
    assert encode(TrainConfig(), set(), "http://localhost:8501/") == "http://localhost:8501/train?lesson=1"
    assert encode(TrainConfig(), set(), "http://h/app/train?x=1#top") == "http://h/app/train?lesson=1"
    assert encode(TrainConfig(lr=1e-5), set(), None) == "?lesson=1&lr=1e-05"


def test_a_preset_round_trips():
    for cfg in PRESETS.values():
        assert decode(query(encode(cfg, set(), ""))) == Lesson(cfg)


def test_malformed_values_fall_back_to_defaults_and_are_named():
    lesson = decode({"lesson": "1", "lr": "abc", "model": "vgg", "epochs": "2.5", "momentum": "nan",
                     "batch_norm": "maybe", "epochs_": "3", "hide": "lr,colour", "optimizer": "adam"})
    default = TrainConfig()
    assert lesson.cfg == TrainConfig(optimizer="adam")
    assert lesson.cfg.lr == default.lr and lesson.cfg.model == default.model
    assert lesson.hidden == {"lr"}
    text = " | ".join(lesson.problems)
    for words in ("lr ('abc' is not a number)", "model=vgg (model 'vgg' is not one of", "epochs ('2.5' is not a whole",
                  "momentum ('nan' is not a finite number)", "batch_norm ('maybe' is not 1 or 0)",
                  "epochs_ (not a setting", "hide ('colour' is not a setting)"):
        assert words in text, words
    assert len(lesson.problems) == 7


def test_settings_that_need_each_other_are_kept_whatever_their_order():
    params = {"hidden": "64", "nesterov": "1", "folder": "pets", "dataset": "folder", "model": "mlp"}
    for order in (list(params), list(reversed(params))):
        lesson = decode({k: params[k] for k in order})
        assert lesson.problems == []
        assert lesson.cfg == TrainConfig(model="mlp", hidden=(64,), nesterov=True, dataset="folder", folder="pets")


def test_a_conflict_keeps_the_first_declared_setting_and_explains_the_other():
    for params in ({"nesterov": "1", "optimizer": "adam"}, {"optimizer": "adam", "nesterov": "1"}):
        lesson = decode(params)
        assert lesson.cfg == TrainConfig(optimizer="adam")
        assert lesson.problems == ["nesterov=1 (Nesterov momentum needs the SGD optimizer with momentum above 0)"]
    lesson = decode({"model": "lenet", "hidden": "64"})
    assert lesson.cfg == TrainConfig() and "lenet has no option(s) ['hidden']" in lesson.problems[0]


def test_over_long_values_and_repeated_keys():
    lesson = decode({"name": "x" * 1000, "lr": ["0.5", "0.1"]})
    assert lesson.cfg == TrainConfig(lr=0.1)
    assert lesson.problems == ["name (the value is longer than 300 characters)"]


def test_lesson_flag_and_signature():
    assert is_lesson({"lesson": "1"}) and is_lesson({"lesson": ["0", "1"]})
    assert not is_lesson({}) and not is_lesson({"lesson": "yes"})
    a = signature({"lesson": "1", "lr": "0.1", "hide": "lr", "job": "abc"})
    assert a == signature({"hide": "lr", "lr": "0.1", "lesson": "1"})  # order and the page's job do not count
    assert a != signature({"lesson": "1", "lr": "0.2", "hide": "lr"})


def test_every_setting_type_can_come_from_a_link():
    for f in fields(TrainConfig):
        value = getattr(TrainConfig(), f.name)
        text = "auto" if value is None else ",".join(map(str, value)) if isinstance(value, tuple) else \
            str(int(value)) if isinstance(value, bool) else str(value)
        assert parse_value(f.type, text) == value, f.name


def test_the_four_configurations_switch_travels_in_the_link():
    cfg = TrainConfig(epochs=3)
    url = encode(cfg, {"four", "lr"}, four=True)
    assert "four=1" in url and "hide=lr,four" in url
    lesson = decode(parse_qs(urlsplit(url).query))
    assert lesson.four and lesson.hidden == {"four", "lr"} and lesson.cfg == cfg and not lesson.problems
    assert not decode({"lesson": "1"}).four
    assert decode({"lesson": "1", "four": "maybe"}).problems == ["four ('maybe' is not 1 or 0)"]


def test_sizes_in_a_link_are_read_like_a_typed_list_and_a_bad_one_is_named():
    assert decode({"lesson": "1", "model": "mlp", "hidden": "256 64"}).cfg.hidden == (256, 64)
    lesson = decode({"lesson": "1", "model": "mlp", "hidden": "256,x"})
    assert lesson.cfg == TrainConfig(model="mlp")
    assert lesson.problems == ["hidden (sizes: write whole numbers separated by commas, like 256,128,64; "
                               "'x' is not one)"]


def test_the_inside_training_lessons_round_trip_and_lock_the_network_not_the_fix():
    from nets.link.inside import LESSONS, LOCKED, OUTCOMES
    for lesson in LESSONS:
        url = lesson.link("http://lab:8501/train")
        assert f"inside={lesson.key}" in url and "stats_every=5" in url
        got = decode(parse_qs(urlsplit(url).query))
        assert got.cfg == lesson.cfg and got.inside == lesson.key and not got.problems
        assert got.hidden == LOCKED == {"dataset", "model", "hidden", "stats_every"}
        assert lesson.answer in OUTCOMES and lesson.why() and lesson.question.endswith("?")
        assert not lesson.changed(lesson.cfg) and lesson.changed(TrainConfig(**{**lesson.cfg.to_dict(), "init": "xavier"}))
    assert decode({"lesson": "1"}).inside == ""
    assert decode({"lesson": "1", "inside": "nonsense"}).inside == "nonsense"  # the page ignores an unknown one
