"""The lecturer's server view and the server log: rows, the access rule, recent problems."""
import logging
import os
import time

from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig
from nets.runs.access import Access
from nets.server.jobs import JobManager
from nets.server.lecturer_view import counts, job_rows, rss_mb, worker_rows
from nets.server.log import RecentProblems, setup

LONG = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=10_000, log_every=1)


def test_rows_put_active_jobs_first_with_owner_device_time_and_memory(ckpt):
    jobs = JobManager(ckpt, max_running=1)
    try:
        done = jobs.wait(jobs.submit(TrainConfig(model="mlp", hidden=(8,), train_per_class=10, epochs=1),
                                     owner="name:alice").id)
        live = jobs.submit(LONG, owner="name:bob")
        jobs.submit(LONG, owner="name:carol")  # queued behind bob's
        deadline = time.time() + 60
        while not jobs.view(live.id).started_info and time.time() < deadline:
            time.sleep(0.05)
        workers = [{"index": 0, "pid": os.getpid(), "job": live.id, "alive": True, "ready": True, "gpu": "1"}]
        rows = job_rows(jobs.views(), workers)
        assert [r["owner"] for r in rows] == ["carol", "bob", "alice"]  # shown names, not identities
        assert rows[0]["status"] == "queued" and rows[0]["queue position"] == 1
        assert rows[1]["device"] == "cpu (GPU 1)" and rows[1]["memory MB"] > 10 and rows[1]["elapsed s"] >= 0
        assert rows[2]["status"] == done.status == "completed" and rows[2]["worker"] is None
        assert worker_rows(workers)[0]["job"] == live.id[:8]
        # the overview is the lecturer's (or a laptop owner's), never a student's
        assert len(jobs.overview(Access("x", True, False))) == 3 and jobs.overview(Access("x", False, False)) == []
        assert len(jobs.overview(Access("x", False, True))) == 3
    finally:
        jobs.close()
    assert rss_mb(None) is None and rss_mb(2**22 + 12345) is None


def test_counts_of_running_and_queued_jobs_and_live_workers():
    rows = [{"status": "running"}, {"status": "queued"}, {"status": "queued"}, {"status": "completed"}]
    workers = [{"alive": True}, {"alive": False}, {"alive": True}]
    assert counts(rows, workers, in_process=False) == {"Running": 1, "Queued": 2, "Workers alive": "2 of 3"}
    assert counts([], [], in_process=True)["Workers alive"] == "in-process"
    assert counts([], [], in_process=False) == {"Running": 0, "Queued": 0, "Workers alive": "starting"}


def test_recent_problems_keep_warnings_with_their_tracebacks():
    recent = RecentProblems(keep=2)
    log = logging.getLogger("nnlab.test")
    log.addHandler(recent)
    try:
        log.info("fine")
        log.warning("job abc failed: boom\nTraceback: line 1")
        try:
            raise ValueError("bad page")
        except ValueError:
            log.exception("Uncaught app execution")
        log.error("third")
    finally:
        log.removeHandler(recent)
    problems = recent.snapshot()
    assert [p["message"] for p in problems] == ["third", "Uncaught app execution: ValueError: bad page"]
    assert "ValueError" in problems[1]["details"] and problems[1]["level"] == "error"
    assert setup() is setup()  # once per process


def test_the_server_page_is_the_lecturers(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    student = AppTest.from_file("../app.py", default_timeout=60)
    student.secrets["lecturer_password"] = "s3cret"
    student.switch_page("pages/server.py").run()
    assert not student.exception and any("lecturer's" in i.value for i in student.info)
    assert not student.dataframe

    lecturer = AppTest.from_file("../app.py", default_timeout=60)
    lecturer.secrets["lecturer_password"] = "s3cret"
    lecturer.session_state["lecturer"] = True
    lecturer.switch_page("pages/server.py").run()
    assert not lecturer.exception
    assert [m.label for m in lecturer.metric] == ["Running", "Queued", "Workers alive"]
    assert any("No jobs since the server started" in c.value for c in lecturer.caption)


def test_page_times_are_recorded_only_when_asked(tmp_path):
    from nets.server.log import read_page_times, record_page_time
    path = tmp_path / "times.tsv"
    record_page_time("Home", 0.25, str(path))
    record_page_time("Home", 0.5, str(path))
    record_page_time("Runs", 0.125, str(path))
    record_page_time("Runs", 9.0, None)  # no path: nothing written anywhere
    assert read_page_times(str(path)) == {"Home": [0.25, 0.5], "Runs": [0.125]}
    assert read_page_times(str(tmp_path / "missing.tsv")) == {}


def test_the_lecturer_sets_the_budget_on_the_server_page(ckpt, monkeypatch):
    from nets.server.budget import read_settings
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    lecturer = AppTest.from_file("../app.py", default_timeout=60)
    lecturer.secrets["lecturer_password"] = "s3cret"
    lecturer.session_state["lecturer"] = True
    lecturer.switch_page("pages/server.py").run()
    assert not lecturer.exception
    lecturer.number_input(key="budget-params").set_value(5000)
    lecturer.number_input(key="budget-queue_per_student").set_value(2)
    lecturer.button[0].click()  # the form's submit button comes first on the page
    lecturer.run()
    assert not lecturer.exception and any("Saved" in s.value for s in lecturer.success)
    assert read_settings(ckpt)["params"] == 5000 and read_settings(ckpt)["queue_per_student"] == 2
