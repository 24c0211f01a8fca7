"""`python -m nets serve`: two app processes behind Debian's nginx share one job queue, and one user's job is
found from either process; nginx's configuration; the shared queue's socket refuses a wrong key."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from browser import ROOT, chromium_page, free_port, open_at, require_chromium, stop

from nets.server.shared_jobs import QueueDown, SharedJobs
from nets.server.web import nginx_config, nginx_path


def test_nginx_config_passes_websockets_and_keeps_sessions_sticky(tmp_path):
    conf = nginx_config([8601, 8602, 8603], "0.0.0.0:8501", tmp_path, upload_mb=100)
    for port in (8601, 8602, 8603):
        assert f"server 127.0.0.1:{port} " in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "proxy_set_header Connection $connection_upgrade;" in conf
    assert "hash $nnlab_route consistent;" in conf and "listen 0.0.0.0:8501;" in conf
    assert "proxy_set_header Host $http_host;" in conf  # with its port: Streamlit's websocket origin check
    assert "client_max_body_size 100m;" in conf
    assert str(tmp_path) in conf and "/var/" not in conf  # everything under the launch's folder: no root needed
    from nets.server.web import upload_limit_mb
    assert upload_limit_mb() == 100  # the app's own limit (.streamlit/config.toml), passed to nginx


def test_the_shared_queue_refuses_a_wrong_key(ckpt):
    from shared_queue import shared_queue
    with shared_queue(ckpt, backend="thread") as (client, _):
        assert client.running_count() == 0
        assert oct(os.stat(client.socket_path).st_mode & 0o777) == "0o600"
        with pytest.raises(QueueDown):
            SharedJobs(client.socket_path, secrets.token_hex(16), ckpt)
        assert client.running_count() == 0  # the daemon goes on after a refused handshake
    with pytest.raises(QueueDown, match="does not answer"):  # stopped: a page says what to do
        client._call("running_count")


def _route_counts(log: Path, path: str) -> Counter:
    rows = [line.split() for line in log.read_text().splitlines() if f'"GET {path} ' in line]
    return Counter((row[-2], row[-1]) for row in rows)


@pytest.mark.skipif(nginx_path() is None and os.environ.get("NETLAB_REQUIRE_BROWSER") != "1",
                    reason="nginx is not installed (apt install nginx-light)")
def test_two_processes_behind_nginx_share_the_queue_and_the_users_job(tmp_path):
    require_chromium()
    assert nginx_path(), "nginx is missing: .ci/run installs nginx-light"
    port, run = free_port(), tmp_path / "run"
    env = {**os.environ, "NNLAB_CHECKPOINTS": str(tmp_path / "ckpt"), "NNLAB_JOB_BACKEND": "process"}
    out = open(tmp_path / "serve.log", "w")
    serve = subprocess.Popen([sys.executable, "-m", "nets", "serve", "--procs", "2", "--listen", f"127.0.0.1:{port}",
                              "--run-dir", str(run)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while not (run / "ports").exists():
            assert serve.poll() is None and time.time() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.3)
        ports = [int(p) for p in (run / "ports").read_text().split()]
        front = f"http://127.0.0.1:{port}"
        # sticky: one cookie, one process; without one, requests spread over both
        for _ in range(20):
            urllib.request.urlopen(urllib.request.Request(front + "/_stcore/health",
                                                          headers={"Cookie": "nnlab_route=" + "a" * 32}), timeout=5)
        for _ in range(40):
            assert urllib.request.urlopen(front + "/_stcore/health", timeout=5).read() == b"ok"
        time.sleep(0.5)  # nginx writes its access log line after answering
        routes = _route_counts(run / "nginx-access.log", "/_stcore/health")
        assert len({upstream for (upstream, route), n in routes.items() if route == "a" * 32}) == 1
        assert {upstream for upstream, _ in routes} == {f"127.0.0.1:{p}" for p in ports}

        with chromium_page(1366, 768) as page:
            main = open_at(page, front + "/", "Start here")  # through nginx: its websocket works
            main.get_by_role("button", name="Train now").first.click()
            page.wait_for_url(re.compile(r"/train\?.*job="), timeout=60_000)
            query = dict(part.split("=", 1) for part in page.url.partition("?")[2].split("&") if "=" in part)
            assert query.get("me") and query.get("job"), page.url  # the tab's identity and its job, in the address
            for p in ports:  # the same user, straight at each process: their job, from the one queue
                main = open_at(page, f"http://127.0.0.1:{p}/train?me={query['me']}&job={query['job']}", "Train")
                main.get_by_text("lenet · mnist-mini · sgd lr 0.05 · cross-entropy").first.wait_for(timeout=30_000)
                main.get_by_text(re.compile("Completed all 5 epochs|queue|epoch", re.I)).first.wait_for(timeout=60_000)
            # another tab is another user: the job's address alone shows them nothing, from either process
            main = open_at(page, f"http://127.0.0.1:{ports[1]}/train?job={query['job']}", "Train")
            main.get_by_text("That job is not on this server any more").first.wait_for(timeout=30_000)
    finally:
        stop(serve, grace=30)  # the launcher stops nginx, the app processes and the queue first
        out.close()
    assert serve.returncode == 0, (tmp_path / "serve.log").read_text()
    assert not (run / "jobs.sock").exists()  # the queue stopped cleanly


def test_on_a_ray_cluster_the_launch_starts_no_queue_of_its_own(tmp_path):
    from nets.server.web import children
    assert [k.name for k in children(tmp_path, [1, 2])] == ["jobs", "app1", "app2", "nginx"]
    assert [k.name for k in children(tmp_path, [1, 2], ray=True)] == ["app1", "app2", "nginx"]  # the actor is the queue
