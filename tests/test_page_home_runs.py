"""Home's "Saved runs" box: the newest few from the index, and the way to all of them in Runs."""
import pagetools

from nets.engine.config import TrainConfig
from nets.runs import create_run


def saved(ckpt, run_id, **info) -> str:
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), name=run_id)
    return create_run(ckpt, cfg, {"status": "completed", **info}, run_id=run_id).id


def links(at) -> list:
    return [(e.proto.page, e.proto.label) for e in at.get("page_link")]


def test_home_lists_the_eight_newest_and_links_to_runs(ckpt, monkeypatch):
    for i in range(12):
        saved(ckpt, f"r{i:02d}", created=f"2026-01-01 10:{i:02d}:00", test={"accuracy": i / 20})
    at = pagetools.open_page("pages/home.py", ckpt, monkeypatch)
    runs = at.dataframe[1].value
    assert runs["name"].tolist() == [f"r{i:02d}" for i in range(11, 3, -1)]
    assert runs["test accuracy"].tolist()[0] == 11 / 20
    ((page, label),) = [link for link in links(at) if "Runs" in link[1]]
    assert page == "runs" and label == "The 8 most recent of 12 — all in Runs"
    assert not at.warning


def test_home_with_few_runs_and_with_none(ckpt, monkeypatch):
    saved(ckpt, "only-one")
    at = pagetools.open_page("pages/home.py", ckpt, monkeypatch)
    assert at.dataframe[1].value["name"].tolist() == ["only-one"]
    assert [label for _, label in links(at)] == ["Compare them in Runs"]
    at = pagetools.open_page("pages/home.py", ckpt / "empty", monkeypatch)
    assert "No saved runs yet" in " ".join(i.value for i in at.info) and not links(at)
