"""Issue 20, item 10: Predictions opens on the newest run that completed with a model, not on a newer
one that failed (12.7%), unless the user chose it; with none completed, on the newest with a model."""
from nets.runs import get_run, update_run
from test_page_predictions import many_runs, open_page


def test_predictions_opens_on_the_newest_completed_run(ckpt, monkeypatch):
    many_runs(ckpt, n=3)  # the shipped run (oldest), then filler-00, -01, -02, all completed
    update_run(get_run(ckpt, "filler-02"), status="failed")     # the newest: failed at chance
    update_run(get_run(ckpt, "filler-01"), status="diverged")
    at = open_page(ckpt, monkeypatch)
    (picker,) = at.selectbox
    assert picker.value == "filler-00"
    assert any("filler-02" in o for o in picker.options)  # still listed
    at.selectbox[0].set_value("filler-02").run()                # the user's choice stays
    assert not at.exception and at.selectbox[0].value == "filler-02"
    at.run()
    assert at.selectbox[0].value == "filler-02"


def test_with_no_completed_run_it_opens_on_the_newest_with_a_model(ckpt, monkeypatch):
    shipped = many_runs(ckpt, n=2)
    for run_id in (shipped, "filler-00", "filler-01"):
        update_run(get_run(ckpt, run_id), status="stopped")
    at = open_page(ckpt, monkeypatch)
    assert at.selectbox[0].value == "filler-01" and not at.exception


def test_a_visit_to_runs_first_does_not_bring_the_failed_run_back(ckpt, monkeypatch):
    """Runs pre-selects a row and shares it with Predictions (selected_run): with nothing chosen, that
    row is the newest completed run too, not the newest failed one."""
    import pagetools
    many_runs(ckpt, n=3)
    update_run(get_run(ckpt, "filler-02"), status="failed")
    at = pagetools.open_page("pages/runs.py", ckpt, monkeypatch)
    assert at.session_state["selected_run"] == "filler-01"
    at.switch_page("pages/predictions.py").run()
    assert not at.exception and at.selectbox[0].value == "filler-01"
