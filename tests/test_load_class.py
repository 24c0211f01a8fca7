"""The class load script (tests/load_class.py) at its smallest, and the "everyone presses Train" moment at a
small scale: one player and three trainers pressing at once, driven through Streamlit's websocket protocol
(tests/classload.py) against a server it starts: every job completes, none is lost, and the students
behind the first are told their place and a wait."""
import re
import json
import subprocess
import sys

import pytest

from browser import ROOT


@pytest.mark.slow
def test_one_player_and_three_trainers_pressing_at_once(tmp_path):
    report = tmp_path / "class.json"
    done = subprocess.run([sys.executable, "tests/load_class.py", "--players", "1", "--trainers", "3",
                           "--seconds", "5", "--spread", "0", "--timeout", "240", "--json", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    figures = json.loads(report.read_text())
    assert figures["errors"] == [], out

    player = figures["players"]["each"][0]
    if player.get("browser_trained"):  # the Playground trains in the browser: the server answered its syncs
        assert player["syncs"] >= 1 and player["sync_answered_s"]["n"] == player["syncs"], out
    else:
        assert player["updates"] >= 1 and player["epochs"] > 0, out  # the Epoch metric grew while it played

    trainers = figures["trainers"]
    assert trainers["submitted"] == trainers["saved"] == trainers["completed"] == 3, out
    assert trainers["lost"] == 0
    assert all(t["status"] == "completed" for t in trainers["each"])
    told = [t for t in trainers["each"] if any(re.search(r"Queued: position \d+ in the queue; it should start in "
                                                         r"about", str(q)) for q in t["queue_texts"])]
    assert len(told) >= 2, out  # one job runs at a time: the others waited, and knew their place and a wait
    assert "Playground" in figures["page_times"] and "Home" in figures["page_times"]
    assert figures["cpu_s"]["app"] > 0
