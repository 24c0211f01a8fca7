"""Issue 19, item 7: other people's text (a lesson link's values, run names, class names) is shown
as text, never as Markdown or HTML, and a CSV cell never reaches a spreadsheet as a formula."""
import csv
import io
import json
import re

import pagetools
from exporttools import fake_run
from pagetools import tiny_run
from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig
from nets.export.report import export_report
from nets.export.table import metrics_csv
from nets.runs import get_run, update_run
from nets.link.train import decode
from nets.text import plain, shown

PHISH = ("**Session expired.** [Sign in again here](http://example.invalid/phish) "
         "![b](http://example.invalid/beacon.png)")
MARKUP_NAME = "**bold** [x](http://example.invalid)"
# Markdown that would make a link or an image: an unescaped "[" or "](" (plain() escapes both).
LIVE_LINK = re.compile(r"(?<!\\)\]\((?!\s)|(?<!\\)!\[|<a\s|<img\s", re.I)


def everything_shown(at) -> list[str]:
    """The Markdown source of every text element of the page that quotes the attacker's text (the
    app's own lessons have links of their own)."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "subheader", "title")
    return [e.value for kind in kinds for e in getattr(at, kind) if "example" in e.value]


def test_a_lesson_links_values_in_the_warning_are_text_not_a_link_or_an_image(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.query_params.update({"lesson": "1", "lr": PHISH})
    at.switch_page("pages/train.py").run()
    assert not at.exception
    (warning,) = at.warning
    # The element's Markdown escapes every character that would make markup of the link's value...
    assert plain("**Session expired.** [Sign in again here](http://example.invalid/phish)") in warning.value
    assert not LIVE_LINK.search(warning.value) and "**Session" not in warning.value
    # ...so a reader sees exactly what the link held
    assert "**Session expired.** [Sign in again here](http://example.invalid/phish)" in shown(warning.value)
    assert not any(LIVE_LINK.search(v) for v in everything_shown(at))


def test_lesson_problems_quote_a_value_on_one_line_and_briefly():
    problems = decode({"lesson": "1", "lr": "x\n# Heading\n" + "y" * 250, "epochs": "1\r\n2"}).problems
    assert problems and all("\n" not in p and "\r" not in p for p in problems)
    assert all(len(p) < 200 for p in problems)


def test_a_run_named_with_markup_shows_as_text_on_runs(ckpt, monkeypatch):
    run_id = tiny_run(ckpt, "plain")
    update_run(get_run(ckpt, run_id), name=MARKUP_NAME)
    at = pagetools.open_page("pages/runs.py", ckpt, monkeypatch)
    assert at.dataframe[0].value["name"].tolist() == [MARKUP_NAME]  # a table cell is text already
    title = f"**{plain(MARKUP_NAME)}**"  # the bold title above the run's confusion matrix
    assert title in [m.value for m in at.markdown]
    assert shown(title[2:-2]) == MARKUP_NAME
    assert not any(LIVE_LINK.search(v) for v in everything_shown(at))


def test_a_rename_message_shows_the_name_as_text(ckpt, monkeypatch):
    run_id = tiny_run(ckpt, "before")
    at = pagetools.open_page("pages/runs.py", ckpt, monkeypatch)
    at.text_input(key=f"rename_{run_id}").set_value(MARKUP_NAME)
    next(b for b in at.button if b.label == "Rename").click()
    at.run()
    assert not at.exception
    (message,) = at.success
    assert shown(message.value) == f"Renamed to '{MARKUP_NAME}'." and not LIVE_LINK.search(message.value)


def test_class_names_with_markup_show_as_text_on_predictions(ckpt, monkeypatch):
    classes = [f"[c{i}](http://example.invalid/{i})" for i in range(9)] + ["![i](http://example.invalid/i.png)"]
    run = fake_run(ckpt, TrainConfig(dataset="mnist-mini", model="mlp", hidden=(8,)), (1, 28, 28), classes)
    # the evaluation and the test images come from the bundled digits: the class names are the run's own
    at = pagetools.open_page("pages/predictions.py", ckpt, monkeypatch, {"selected_run": run.id})
    captions = [im.caption for el in at.get("image") for im in el.proto.imgs]
    assert captions and any("example" in c for c in captions) and not any(LIVE_LINK.search(c) for c in captions)
    assert any("[c" in shown(c) for c in captions)
    assert not any(LIVE_LINK.search(v) for v in everything_shown(at))


def test_the_csv_export_writes_a_formula_name_as_text(tmp_path):
    run = fake_run(tmp_path / "ck", TrainConfig(dataset="mnist-mini", model="mlp", hidden=(8,)), (1, 28, 28),
                   history=[{"epoch": 1, "train_loss": 0.5, "test_loss": 0.4, "test_acc": 0.9}])
    update_run(run, name='=HYPERLINK("http://example.invalid","click")')
    data = metrics_csv([get_run(tmp_path / "ck", run.id)]).data.decode()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert rows[0]["run"] == '\'=HYPERLINK("http://example.invalid","click")'
    assert all(not str(v).startswith(("=", "+", "@")) for r in rows for v in r.values())
    assert rows[0]["train_loss"] == "0.5"  # numbers stay numbers


def test_the_report_escapes_names_and_class_names(tmp_path):
    nasty = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    run = fake_run(tmp_path / "ck", TrainConfig(dataset="mnist-mini", model="mlp", hidden=(8,)), (1, 28, 28),
                   [f"{nasty}{i}" for i in range(10)],
                   history=[{"epoch": 1, "train_loss": 0.5, "test_loss": 0.4, "test_acc": 0.9}])
    update_run(run, name=nasty)
    page = export_report([get_run(tmp_path / "ck", run.id)]).data.decode()
    assert "<script>" not in page and "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_run_json_damage_is_named_without_markup():
    from nets.runs.rows import record_problem
    assert record_problem({"name": {"a": 1}, "config": {}}) == "its name is a dict, not text"
    assert json.dumps(record_problem({"config": {"lr": "fast"}}))  # a plain sentence
