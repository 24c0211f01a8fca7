"""`python -m nets serve --procs N`: N app processes behind nginx, sharing one job queue, started and kept up by one command.

Streamlit runs every session of a process in its threads under one GIL, so one process uses about one
core however many the server has (docs/classroom.md). This command starts the shared job queue
(`python -m nets jobs`, nets.server.shared_jobs), N `streamlit run app.py` processes on free local
ports and Debian's nginx in front of them: websocket headers passed on, and sticky sessions: a browser
keeps the process it first met (a random `nnlab_route` cookie, hashed consistently), because a session,
its uploads and its media live in one process. Runs, accounts and the run index are files every process
shares (the checkpoints folder); jobs, caps and owner rules are the queue's. A process that dies is
started again; Ctrl-C or SIGTERM stops them all, jobs keeping their best models.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from nets import settings

HEALTH_S = 90.0  # a fresh app process imports torch and warms up before it answers
INSTALL_NGINX = "apt install nginx-light (Debian/Ubuntu; or any nginx ≥ 1.19)"


def nginx_config(ports: list[int], listen: str, prefix: Path, upload_mb: int = 100) -> str:
    """nginx's whole configuration: `listen` (host:port) in front of the app processes on `ports`."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    return f"""# written by `python -m nets serve` (nets/server/web.py); a copy for a system nginx: docs/classroom.md
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format route '$remote_addr "$request" $status $upstream_addr $nnlab_route';
    access_log {prefix}/nginx-access.log route;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size {upload_mb}m;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    # sticky sessions: the browser's route cookie, or a new random one (set below) on its first request;
    # a cookie that is not 32 hex digits is replaced, so nobody picks a process by hand
    map $cookie_nnlab_route $nnlab_route {{ "~^[0-9a-f]{{32}}$" $cookie_nnlab_route; default $request_id; }}
    upstream nnlab_app {{
        hash $nnlab_route consistent;
{servers}
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://nnlab_app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;
            proxy_buffering off;
            add_header Set-Cookie "nnlab_route=$nnlab_route; Path=/; HttpOnly; SameSite=Lax" always;
        }}
    }}
}}
"""


def upload_limit_mb() -> int:
    """The app's upload limit (.streamlit/config.toml's server.maxUploadSize, Streamlit's 200 without it)."""
    try:
        with open(settings.ROOT / ".streamlit" / "config.toml", "rb") as f:
            return int(tomllib.load(f).get("server", {}).get("maxUploadSize", 200))
    except (OSError, ValueError, tomllib.TOMLDecodeError):
        return 200


def nginx_path() -> str | None:
    """Debian puts nginx in /usr/sbin, which a normal user's PATH may lack."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


@dataclass
class Child:
    """One process the launcher keeps up: what starts it, and the running one."""
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)

    def start(self, env: dict, cwd: Path) -> None:
        self.starts.append(time.time())
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(self.argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # Ctrl-C reaches the launcher, which stops it

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def children(run_dir: Path, ports: list[int], ray: bool = False) -> list[Child]:
    """The queue (none on a Ray cluster: its actor is the queue), the app processes and nginx, in the order
    they start."""
    py = sys.executable
    app = [[py, "-m", "streamlit", "run", str(settings.ROOT / "app.py"), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"] for port in ports]
    nginx = [nginx_path() or "nginx", "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"),
             "-e", str(run_dir / "nginx-error.log"), "-g", "daemon off;"]
    queue = [] if ray else [Child("jobs", [py, "-m", "nets", "jobs", "--socket", str(run_dir / "jobs.sock")],
                                  run_dir / "jobs.log")]
    return (queue + [Child(f"app{i + 1}", argv, run_dir / f"app{i + 1}.log") for i, argv in enumerate(app)]
            + [Child("nginx", nginx, run_dir / "nginx.log")])


def main(argv=None) -> int:
    """`python -m nets serve`: the app for a class, on several cores."""
    ap = argparse.ArgumentParser(prog="python -m nets serve", description=main.__doc__)
    ap.add_argument("--procs", type=int, default=min(os.cpu_count() or 1, 8),
                    help="app processes (default: one per core, at most 8)")
    ap.add_argument("--listen", default="0.0.0.0:8501", help="where nginx listens, host:port (default 0.0.0.0:8501)")
    ap.add_argument("--run-dir", help="where the launch keeps its socket, logs and nginx files (default: a new "
                                      "temporary folder)")
    args = ap.parse_args(argv)
    if not 1 <= args.procs <= 64:
        raise SystemExit("--procs must be between 1 and 64.")
    if nginx_path() is None:
        raise SystemExit(f"nginx is not installed here: {INSTALL_NGINX}; or run one process with `streamlit run app.py`.")
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="nnlab-serve-")).resolve()
    for sub in ("", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)  # the queue's socket and the logs are this user's alone
    ports = [free_port() for _ in range(args.procs)]
    (run_dir / "nginx.conf").write_text(nginx_config(ports, args.listen, run_dir, upload_mb=upload_limit_mb()))
    ray = bool(settings.get("NNLAB_RAY_ADDRESS"))  # the cluster's queue, shared already
    env = {**os.environ, "NNLAB_JOBS_SOCKET": "" if ray else str(run_dir / "jobs.sock"),
           "NNLAB_JOBS_KEY": secrets.token_hex(32),
           # one secret for every process: a signed cookie (XSRF, a login) set by one is good in all
           "STREAMLIT_SERVER_COOKIE_SECRET": os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)}
    kids = children(run_dir, ports, ray)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    try:
        for kid in kids[:-1]:
            kid.start(env, settings.ROOT)
        deadline = time.time() + HEALTH_S
        while not all(healthy(p) for p in ports):
            if stopping or time.time() > deadline or any(k.proc.poll() is not None for k in kids[:-1]):
                print(f"The app processes did not start; see the logs in {run_dir}.", file=sys.stderr)
                return 1
            time.sleep(0.5)
        kids[-1].start(env, settings.ROOT)
        time.sleep(0.5)
        if kids[-1].proc.poll() is not None:
            print(f"nginx did not start: {(run_dir / 'nginx-error.log').read_text()[-800:]}", file=sys.stderr)
            return 1
        print(f"Neural Net Lab: {args.procs} app processes behind nginx on http://{args.listen} "
              f"(ports {', '.join(map(str, ports))}); logs in {run_dir}. Ctrl-C stops it.", flush=True)
        (run_dir / "ports").write_text(" ".join(map(str, ports)))
        while not stopping:
            for kid in kids:
                if kid.proc.poll() is not None and not stopping:
                    print(f"{kid.name} exited ({kid.proc.returncode}); starting it again.", file=sys.stderr, flush=True)
                    time.sleep(1.0 if len(kid.starts) < 5 or time.time() - kid.starts[-5] > 60 else 10.0)
                    kid.start(env, settings.ROOT)
            time.sleep(0.5)
        return 0
    finally:
        for kid in reversed(kids):  # nginx first, then the app processes, the queue last (its jobs stop cleanly)
            kid.stop()
