"""Issue 19, item 9: what crashed becomes a plain message — a 50,000-character search, an XOR
expression nested 3,000 deep or of 40,000 terms, a run.json whose fields have the wrong types."""
import json
import shutil

import pagetools
import pytest
from pagetools import tiny_run
from streamlit.testing.v1 import AppTest

from nets.calculators import boolean_expression as boolean
from nets.runs import DEFAULT_ROOT, RunFilter, get_run, index
from nets.runs.access import ADMIN
from nets.runs.rows import DAMAGED, record_problem, row_of
from nets.text import shown

HUGE_SEARCH = "x%_" * 17_000   # 51,000 characters: SQLite refuses LIKE patterns above 50,000
DEEP = "(" * 3000 + "P" + ")" * 3000
WIDE = " or ".join(["P"] * 40_000)


# ------------------------------------------------------------------------------ the search
def test_a_huge_search_on_the_index_is_an_empty_result(ckpt):
    tiny_run(ckpt, "some run")
    idx = index(ckpt)
    assert idx.query(RunFilter(text=HUGE_SEARCH), ADMIN) == [] and idx.count(RunFilter(text=HUGE_SEARCH), ADMIN) == 0
    assert len(idx.query(RunFilter(text="some"), ADMIN)) == 1  # an ordinary search still finds


def test_a_huge_search_on_runs_says_nothing_matches(ckpt, monkeypatch):
    tiny_run(ckpt, "some run")
    at = pagetools.open_page("pages/runs.py", ckpt, monkeypatch, {"runs_text": HUGE_SEARCH})
    assert not at.exception and "No run matches these filters." in [i.value for i in at.info]
    assert at.text_input(key="runs_text").proto.max_chars == 100


# ------------------------------------------------------------------------------ the XOR page
@pytest.mark.parametrize("text, words", [(DEEP, "longer than 300"), (WIDE, "longer than 300"),
                                         ("(" * 25 + "P" + ")" * 25, "nested more than 20"),
                                         ("!" * 150 + "P", "More than 100 operators"),
                                         ("|".join(["P"] * 140), "More than 100 operators")])
def test_expressions_too_deep_or_too_long_are_refused_before_parsing(text, words):
    with pytest.raises(boolean.ExpressionError, match=words):
        boolean.parse(text)


def test_the_deepest_and_longest_allowed_expressions_parse_and_evaluate():
    deep = "(" * boolean.MAX_NESTING + "P xor Q" + ")" * boolean.MAX_NESTING
    assert boolean.parse(deep)((1, 0)) == 1
    wide = boolean.parse("|".join(["P"] * (boolean.MAX_OPERATORS + 1)))  # 100 operators, 201 characters
    assert wide((1,)) == 1 and wide.latex()


@pytest.mark.parametrize("text", [DEEP, WIDE], ids=["3000-parentheses", "40000-or-terms"])
def test_the_xor_page_gives_a_plain_message(text):
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.session_state["logic_expr"] = text
    at.switch_page("pages/logic_network.py").run()
    assert not at.exception
    (error,) = at.error
    assert "longer than 300 characters" in shown(error.value)
    assert at.text_input(key="logic_expr").proto.max_chars == boolean.MAX_CHARS


# ------------------------------------------------------------------------------ damaged run.json
WRONG_TYPES = {"name": {"a": 1}, "owner": ["x"], "status": {"s": 1}, "created": {"b": 2}, "params": "many",
               "seconds": [1], "shared": {"x": 1}, "pid": "12"}


def damaged_copy(ckpt, good_id: str, folder: str, **changes) -> None:
    """A copy of a good run folder whose run.json was edited by hand."""
    shutil.copytree(ckpt / good_id, ckpt / folder)
    info = json.loads((ckpt / folder / "run.json").read_text())
    for key, value in changes.items():
        if key in ("dataset", "model", "lr"):
            info["config"][key] = value
        elif key == "best_epoch":
            info["best"] = {"epoch": value, "split": "test", "accuracy": 0.5}
        else:
            info[key] = value
    (ckpt / folder / "run.json").write_text(json.dumps(info))


@pytest.mark.parametrize("field, value", [*WRONG_TYPES.items(), ("dataset", {"d": 1}), ("model", ["m"]),
                                          ("lr", "fast"), ("best_epoch", {"e": 1})])
def test_a_wrong_type_in_run_json_reads_as_missing_and_marks_the_row(field, value):
    info = {"name": "ok", "status": "completed", "config": {"dataset": "mnist-mini", "model": "mlp"}}
    info.update({field: value} if field in WRONG_TYPES else {})
    if field in ("dataset", "model", "lr"):
        info["config"][field] = value
    elif field == "best_epoch":
        info["best"] = {"epoch": value}
    assert record_problem(info)
    row = row_of("r1", info, True, 10)
    assert row.status == DAMAGED and not row.images
    assert all(isinstance(getattr(row, f), str) for f in ("name", "owner", "dataset", "model", "created", "host"))
    assert row.params is None or isinstance(row.params, int)
    hash(row)  # the page keeps rows in sets and dicts: "unhashable type: 'dict'" was the crash


def test_null_fields_read_as_missing():
    info = {k: None for k in ("name", "owner", "status", "created", "params", "seconds", "shared", "best", "test")}
    row = row_of("r1", {**info, "config": {"dataset": "mnist-mini", "model": "mlp", "dropout": None}}, False, 0)
    assert row.name == "r1" and row.status == "" and row.owner == "" and row.created == "" and row.params is None


def test_sound_records_are_not_damaged(ckpt):
    shipped = json.loads((DEFAULT_ROOT / "lenet-mnist-mini" / "run.json").read_text())
    assert record_problem(shipped) is None
    assert row_of("lenet-mnist-mini", shipped, True, 1).status == "completed"
    trained = get_run(ckpt, tiny_run(ckpt, "fresh", augment=("flip",), val_fraction=0.1))
    assert record_problem(trained.info) is None and trained.row().status == "completed"


@pytest.mark.parametrize("rebuild", [True, False], ids=["index-rebuilt", "index-kept"])
def test_runs_home_and_predictions_render_with_a_dict_named_run(ckpt, monkeypatch, rebuild):
    good = tiny_run(ckpt, "good run")
    damaged_copy(ckpt, good, "20990101-000000-copied-by-hand", name={"a": 1})
    damaged_copy(ckpt, good, "20990101-000001-nulls", status=None, owner=None, params="many", best_epoch={"e": 1},
                 seconds=[1])
    if rebuild:
        (ckpt / "index.sqlite").unlink()
    else:
        index(ckpt).rebuild()
    rows = index(ckpt).query(RunFilter(), ADMIN)
    assert {r.id: r.status for r in rows}["20990101-000000-copied-by-hand"] == DAMAGED
    assert {r.name for r in rows} >= {"good run", "20990101-000000-copied-by-hand"}
    # a damaged run selected (Runs pre-selects the newest completed run, so it is picked here)
    at = pagetools.open_page("pages/runs.py", ckpt, monkeypatch, {"selected_run": "20990101-000000-copied-by-hand"})
    assert not at.exception and len(at.dataframe[0].value) == 3
    assert any("run.json is damaged" in shown(w.value) for w in at.warning)
    at = pagetools.open_page("pages/runs.py", ckpt, monkeypatch,
                             {"runs_table_0": {"selection": {"rows": [0, 1, 2]}}})
    assert not at.exception and any("good run" in shown(m.value) for m in at.markdown)
    at = pagetools.open_page("pages/home.py", ckpt, monkeypatch)
    assert not at.exception and len(at.dataframe[1].value) == 3
    at = pagetools.open_page("pages/predictions.py", ckpt, monkeypatch, {"selected_run": "20990101-000000-copied-by-hand"})
    assert not at.exception


def test_predictions_refuses_a_damaged_record_with_a_message(ckpt, monkeypatch):
    good = tiny_run(ckpt, "good run")
    damaged_copy(ckpt, good, "20990101-000000-bad-dataset", dataset={"d": 1})
    index(ckpt).rebuild()
    at = pagetools.open_page("pages/predictions.py", ckpt, monkeypatch, {"selected_run": "20990101-000000-bad-dataset"})
    assert not at.exception
    if at.session_state["selected_run"] == "20990101-000000-bad-dataset":
        assert any("run.json is damaged" in shown(e.value) for e in at.error)
    assert get_run(ckpt, good).name == "good run"


def test_list_runs_and_run_names_survive_wrong_types(ckpt):
    """The folders themselves, read without the index (a rebuild, the command line): a 'created' of
    mixed types once made the newest-first sort raise TypeError, and a dict name came back as a dict."""
    from nets.runs.folder import list_runs
    good = tiny_run(ckpt, "good run")
    damaged_copy(ckpt, good, "20990101-000000-dict-created", created={"b": 2}, name={"a": 1})
    damaged_copy(ckpt, good, "20990101-000001-null-created", created=None)
    runs, problems = list_runs(ckpt)
    assert len(runs) == 3 and not problems
    names = {r.id: r.name for r in runs}
    assert names["20990101-000000-dict-created"] == "20990101-000000-dict-created"
    assert all(isinstance(n, str) for n in names.values())
