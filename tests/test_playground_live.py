"""The live panel's exchange with the browser: what the page sends it, and what it takes back."""
import copy
import json
import math

from nets.playground import fast
from nets.playground.live import apply_sync, panel_data, version
from nets.playground.state import PlaygroundConfig, new_state
from nets.playground.train import MAX_HISTORY, edit_weight, epoch_batches, losses, step
from nets.playground import edges


def sync_from(trained, v: str) -> dict:
    """What web/live.js's snapshot() sends for a network trained in the browser (here: trained by fast.py)."""
    return json.loads(json.dumps({
        "version": v, "seq": 1, "params": trained.net.params.tolist(),
        "bn": [{k: (s[k].tolist() if k != "count" else s[k]) for k in ("gamma", "beta", "mean", "var", "count")}
               for s in trained.net.bn],
        "epoch": trained.epoch, "position": trained.position, "batches": trained.batches,
        "history": [list(h) for h in trained.history]}))


def test_the_panel_gets_json_and_the_server_takes_the_trained_network_back():
    state = new_state(PlaygroundConfig().changed(batch_norm=True, hidden=(3,)))
    step(state, 0)
    data = json.loads(json.dumps(panel_data(state, "tab", playing=True, sync_s=2.0)))  # plain JSON
    assert data["version"] == version(state) and len(data["points"]) == len(state.order) and data["playing"]
    assert data["net"]["widths"] == [2, 3, 1] and len(data["net"]["bn"]) == 1 and data["stop_at"] is None
    assert panel_data(state, "tab", playing=True, stop_at=40)["stop_at"] == 40  # a scenario's last epoch
    trained = copy.deepcopy(state)  # the browser trains its own copy
    fast.step(trained, trained.net, 60)
    trained.history.append((trained.epochs_done(), *losses(trained)))
    assert apply_sync(state, sync_from(trained, version(state)))
    assert (state.net.params == trained.net.params).all() and state.epoch == trained.epoch == 2
    assert state.net.bn[0]["count"] == trained.net.bn[0]["count"] and state.history == trained.history
    assert float(state.model.out.bias) == float(trained.net.params[-1])  # the pictures' copy follows
    assert losses(state) == losses(trained)


def test_a_stale_or_malformed_sync_is_dropped():
    state = new_state(PlaygroundConfig())
    step(state, 0)
    old = version(state)
    good = sync_from(copy.deepcopy(state), old)
    step(state, epoch_batches(state))  # Step: the server changed the network, a new version
    assert version(state) != old and not apply_sync(state, good)
    good["version"] = version(state)
    params = state.net.params.copy()
    for broken in ({**good, "params": good["params"][:-1]}, {**good, "params": ["x"] * len(good["params"])},
                   {**good, "position": len(state.order) + 1}, {**good, "epoch": -1}, {**good, "epoch": 1.5},
                   {**good, "history": [[0, 1, 2]] * (MAX_HISTORY + 2)}, {**good, "history": [[0, 1]]},
                   {**good, "bn": [{}]}, "not a dict", None):
        assert not apply_sync(state, broken)
        assert (state.net.params == params).all()
    diverged = {**good, "params": [None] * len(good["params"]), "history": [[1.0, None, None]]}
    assert apply_sync(state, diverged)  # JSON's null is a diverged NaN: a lesson, kept
    assert math.isnan(state.net.params[0]) and math.isnan(state.history[-1][1])


def test_the_server_changing_the_network_changes_its_version():
    state = new_state(PlaygroundConfig())
    seen = {version(state)}
    step(state, 1)
    seen.add(version(state))
    w = edges.listing(state.model, state.cfg.features)[0]
    edit_weight(state, w, 0.5)
    seen.add(version(state))
    assert len(seen) == 3 and version(new_state(PlaygroundConfig())) not in seen
