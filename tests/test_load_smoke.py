"""The load script (tests/loadtest.py) with two sessions: it runs end to end and reports its figures."""
import json
import subprocess
import sys

import pytest

from browser import ROOT, require_chromium

require_chromium()


@pytest.mark.slow
def test_two_sessions_report_figures_and_no_errors(tmp_path):
    report = tmp_path / "load.json"
    done = subprocess.run([sys.executable, "tests/loadtest.py", "--sessions", "2", "--timeout", "300",
                           "--json", str(report), "--artifacts", str(tmp_path / "artifacts")],
                          cwd=ROOT, capture_output=True, text=True, timeout=420)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for heading in ("sessions:", "wall time:", "jobs completed:", "errors:", "latency (s)"):
        assert heading in out, out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("load: 2 sessions, 2 jobs completed, 0 errors, Home p50 "), summary
    for step in ("Train", "Job", "Runs"):
        assert f"{step} p50 " in summary

    figures = json.loads(report.read_text())
    assert figures["jobs_completed"] == 2 and figures["errors"] == []
    for step in ("Home", "Train", "Start", "Job", "Runs"):
        stats = figures["latency"][step]
        assert stats["n"] == 2
        assert 0 < stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"]
    # the server's own script time per page view, apart from the browsers' waiting
    assert "server script time per page view" in out
    pages = figures["server_page_times"]
    assert {"Home", "Train", "Runs"} <= set(pages), pages
    assert all(p["n"] >= 1 and 0 < p["p50"] <= p["p95"] <= p["max"] for p in pages.values())
