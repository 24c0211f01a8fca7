"""Playground links (nets/playground/link.py): config -> URL -> config, and bad links fall back with a message."""
from urllib.parse import parse_qs, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from nets.playground import data as pdata
from nets.playground import features as feats
from nets.playground import link
from nets.playground import model as pmodel
from nets.playground.state import LEARNING_RATES, REG_RATES, PlaygroundConfig

configs = st.builds(
    lambda dataset, noise, ratio, seed, k, features, hidden, act, lr, batch, reg, rate, drop, bn: PlaygroundConfig().changed(
        dataset=dataset, noise=noise, train_percent=ratio, seed=seed, classes=k, features=features, hidden=hidden,
        activation=act, learning_rate=lr, batch_size=batch, regularization=reg, reg_rate=rate, dropout=drop,
        batch_norm=bn, loss="squared"),
    st.sampled_from(pdata.DATASETS), st.integers(0, 50), st.sampled_from(range(10, 91, 10)), st.integers(0, 10 ** 6),
    st.integers(3, 6), st.sets(st.sampled_from(list(feats.FEATURES)), min_size=1).map(lambda s: feats.check(tuple(s))),
    st.lists(st.integers(1, pmodel.MAX_NEURONS), max_size=pmodel.MAX_LAYERS).map(tuple),
    st.sampled_from(list(pmodel.ACTIVATIONS)), st.sampled_from(LEARNING_RATES), st.integers(2, 30),
    st.sampled_from(pmodel.REGULARIZATION), st.sampled_from(REG_RATES), st.sampled_from([i / 20 for i in range(11)]),
    st.booleans())


def params_of(url: str) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@settings(max_examples=60, deadline=None)
@given(configs, st.sets(st.sampled_from(list(link.FIELDS))))
def test_round_trip(cfg, locked):
    assert link.problem(cfg) is None
    got = link.decode(params_of(link.encode(cfg, locked, "http://host:8501/playground")))
    assert got.cfg == cfg and got.hidden == frozenset(locked) and got.problems == []


def test_defaults_give_a_short_link_and_the_page_path():
    assert link.encode(PlaygroundConfig()) == "?lesson=1"
    url = link.encode(PlaygroundConfig().changed(dataset="xor"), {"dataset"}, "http://h:1/")
    assert url == "http://h:1/playground?lesson=1&dataset=xor&hide=dataset"


def test_bad_values_fall_back_with_their_reasons():
    got = link.decode({"lesson": "1", "hidden": "9", "lr": "1", "learning_rate": "0.05", "noise": "x",
                       "dataset": "plane", "loss": "cross-entropy", "hide": "dataset,colour", "seed": "7"})
    assert got.cfg == PlaygroundConfig().changed(dataset="plane", seed=7)
    text = " ".join(got.problems)
    for word in ("hidden=9", "lr (not a setting", "learning_rate=0.05", "noise", "loss=cross-entropy", "'colour'"):
        assert word in text, (word, text)
    assert got.hidden == {"dataset"}


def test_a_trained_networks_weights_round_trip_through_a_link():
    """Share as link "with the current weights": the opened network is the trained one, to the link's 6 digits."""
    import numpy as np

    from nets.playground.state import new_state
    from nets.playground.train import boundary, epoch_batches, step
    cfg = PlaygroundConfig().changed(dataset="spiral", features=("x1", "x2", "x1^2", "sin x1"), hidden=(5, 3),
                                     learning_rate=0.1, regularization="L2", reg_rate=0.001)
    state = new_state(cfg, 4)
    for _ in range(3):
        step(state, epoch_batches(state))
    sent = pmodel.flat_weights(state.model)
    got = link.decode(params_of(link.encode(state.cfg, set(), "http://h:1/", weights=sent)))
    assert got.problems == [] and got.cfg == state.cfg
    assert np.allclose(got.weights, sent, rtol=1e-5, atol=1e-7)  # "%.6g": six significant digits
    opened = new_state(got.cfg, 0, got.weights)  # another init seed: every weight comes from the link
    assert np.allclose(boundary(opened, 40), boundary(state, 40), atol=1e-4)
