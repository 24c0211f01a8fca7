"""The class load script (tests/load_class.py) at its smallest: one player and one trainer, driven
through Streamlit's websocket protocol (tests/classload.py) against a server it starts."""
import json
import subprocess
import sys

import pytest

from browser import ROOT


@pytest.mark.slow
def test_one_player_and_one_trainer(tmp_path):
    report = tmp_path / "class.json"
    done = subprocess.run([sys.executable, "tests/load_class.py", "--players", "1", "--trainers", "1",
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
    assert trainers["submitted"] == trainers["saved"] == trainers["completed"] == 1, out
    assert trainers["lost"] == 0
    assert trainers["each"][0]["status"] == "completed"
    assert "Playground" in figures["page_times"] and "Home" in figures["page_times"]
    assert figures["cpu_s"]["app"] > 0
