"""Load script (a script, not a pytest test): a whole class at once, without browsers.

Every simulated student is a Streamlit session driven through Streamlit's own websocket protocol
(tests/classload.py: widget states, button presses and fragment auto-reruns as Streamlit 1.67's
frontend sends them, cached messages, the /media images fetched), all in this one asyncio process.
Browsers are left out on purpose: students sit at their own laptops, and 30 Chromium tabs on this
2-core machine ate 521 of 769 core-seconds in the browser load test (tests/loadtest.py), so what
is measured here is the server's cost.

- P players (--players): each opens /playground in laptop mode (every session its own anonymous
  identity), presses "▶ Play" once all are open, and plays for --seconds, answering the fragment's
  auto-reruns as the browser does. Per player: visible updates per second (Epoch metrics received)
  and epochs per second (read from the "Epoch" metric).
- T trainers (--trainers): their presses spread evenly over --spread seconds; each opens Home (/),
  presses the "MNIST in a minute" card's "▶ Train now", follows the Train page it is sent to (its
  live panel polls with a fragment) until the job has ended. Per trainer: when it pressed, every
  text it was shown about the queue or a wait (markdown, captions, alerts, progress lines
  containing "queue" or "wait"), when it saw the end, its errors (exception elements, error
  alerts).
- Players and trainers run at the same time.

When the Playground trains in the browser (a custom component whose data carries `sync_s`:
pages/_playground_live.py, nets/playground/web/live.js), a player cannot train: it sends back, every
`sync_s` seconds, the network the server last sent it, as live.js's setStateValue("sync", …) does,
and the report gives the syncs the server answered and how fast; updates and epochs are then the
browsers' own (--compare-browser reads Chromium's from the page).

--compare-browser proves the client: one protocol player, then one Chromium player
(tests/browser.py), each alone for --seconds on the same warmed-up server, with the updates,
epochs, auto-reruns, syncs and fragment runs each produced and the CPU each cost:

    nice -n 10 python tests/load_class.py --compare-browser --seconds 10 --repeat 2

At the end: jobs completed (runs in the checkpoints folder whose run.json says "completed"),
submitted and saved (none lost), the time from the first press to the last job done, per-player
updates/s and epochs/s (median and minimum), the page script time p50/p95 per page (the app's
$NNLAB_PAGE_TIMES file; fragment reruns do not pass through app.py, so the client's view of them
is reported apart), CPU seconds of the server processes (the app and its job workers) and of this
client, the load average before and after. Exit status 1 on any error, lost job or failed job.

    nice -n 5 python tests/load_class.py --players 30 --trainers 0 --seconds 30
    nice -n 5 python tests/load_class.py --players 0 --trainers 10 --spread 10
    nice -n 5 python tests/load_class.py                      # 30 players and 60 trainers at once
    python tests/load_class.py --players 1 --trainers 1 --seconds 5 --json /tmp/c.json   # tests/test_load_class.py
    python tests/load_class.py --url http://127.0.0.1:8501 --checkpoints checkpoints --pids 1234

It starts its own app server with an empty temporary checkpoints folder: one `streamlit run
app.py` (tests/browser.py's streamlit_server, job workers as processes), or with --procs N
`python -m nets serve --procs N` (N app processes behind nginx sharing one job queue; every
simulated student keeps nginx's sticky-session cookie, as a browser does); or --url names a running
one (then --checkpoints says where its runs are saved and --pids which processes are the server).

    nice -n 5 python tests/load_class.py --players 30 --trainers 0 --seconds 30 --procs 2
    nice -n 5 python tests/load_class.py --players 0 --trainers 10 --spread 10 --procs 2
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from browser import ROOT, streamlit_server
from classload import Session, SessionError, TextEvent
from loadtest import percentile  # the browser load script's: the same figures, computed once

sys.path.insert(0, str(ROOT))

BADGE = re.compile(r":[a-z]+-badge\[([a-z-]+)\]")   # the live panel's status badge (pages/_train_live.py)
ACTIVE = {"queued", "running"}
QUEUE_WORDS = re.compile(r"queue|wait", re.I)    # every such text is kept (--json) …
QUEUE_PLACE = re.compile(r"queue(?!d)|wait", re.I)  # … the report shows those beyond a status word "queued"
ESTIMATE = re.compile(r"about (\d+(?:\.\d+)?) ?(s|sec|seconds?|min|minutes?)\b")  # "about 65 s", "about 7 min"
EPOCH = re.compile(r"[\d,]+")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--players", type=int, default=30, help="students playing in the Playground (default 30)")
    p.add_argument("--trainers", type=int, default=60, help="students pressing MNIST in a minute (default 60)")
    p.add_argument("--seconds", type=float, default=30, help="seconds each player plays (default 30)")
    p.add_argument("--spread", type=float, default=60, help="seconds over which the trainers press (default 60)")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds for the whole run; trainers still waiting then count as errors (default 1800)")
    p.add_argument("--max-jobs", type=int, help="NNLAB_MAX_JOBS for the server started here (default: the app's)")
    p.add_argument("--procs", type=int, default=0,
                   help="start `python -m nets serve --procs N` (N app processes behind nginx, one shared job "
                        "queue) instead of one `streamlit run` (default: 0, that one process)")
    p.add_argument("--url", help="use this running server instead of starting one")
    p.add_argument("--checkpoints", type=Path, help="with --url: the server's checkpoints folder")
    p.add_argument("--pids", type=int, nargs="*", default=[],
                   help="with --url: the server's process ids (their CPU time and their children's is reported)")
    p.add_argument("--no-media", action="store_true", help="do not fetch the /media images the pages show")
    p.add_argument("--no-assets", action="store_true",
                   help="do not fetch the scripts and styles a fresh tab loads with the page's HTML")
    p.add_argument("--compare-browser", action="store_true",
                   help="prove the client instead: one protocol player alone, then one Chromium player alone "
                        "(tests/browser.py) on the same server, each for --seconds; their updates/s and epochs/s")
    p.add_argument("--repeat", type=int, default=1, help="with --compare-browser: rounds of the pair (default 1)")
    p.add_argument("--browser-nice", type=int, default=0,
                   help="with --compare-browser: niceness added to Chromium's processes, so that a Playground "
                        "trained on the server gets the cores a browser on another laptop would leave it (default 0; "
                        "not for a Playground trained in the browser, which then starves)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------ figures
def spread(values) -> dict:
    values = [v for v in values if v is not None]
    return {"n": len(values), "min": min(values, default=float("nan")),
            "median": statistics.median(values) if values else float("nan"),
            "p95": percentile(values, 95), "max": max(values, default=float("nan"))}


def proc_cpu(pid: int) -> tuple[float, float, int]:
    """(own CPU s, CPU s of its reaped children, parent pid) from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick, int(fields[1])


def tree_cpu(roots: list[int]) -> dict[str, float]:
    """CPU seconds so far of the server's processes, the roots and everything below them: the
    Streamlit app processes ('app'), nginx ('proxy'), and the rest ('workers': job workers, the
    shared queue, a launcher), each with the children it has reaped (those counted as 'workers')."""
    procs, cmds = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                procs[int(d.name)] = proc_cpu(int(d.name))
                cmds[int(d.name)] = (d / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                pass
    children: dict[int, list[int]] = {}
    for pid, (_, _, ppid) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out = {"app": 0.0, "proxy": 0.0, "workers": 0.0}
    todo = [r for r in roots if r in procs]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo += children.get(pid, [])
        own, reaped, _ = procs[pid]
        kind = "app" if b"streamlit" in cmds[pid] else "proxy" if b"nginx" in cmds[pid] else "workers"
        out[kind] += own
        out["workers" if kind == "app" else kind] += reaped
    return out


def app_version() -> str:
    """The commit the app ran at, and whether its code differed from it (the lead edits as we measure)."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app.py", "pages", "nets"], cwd=ROOT,
                               capture_output=True, text=True).stdout.split("\n")
    except OSError:
        return "?"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" with {len(changed)} changed files ({', '.join(changed[:4])}…)" if changed else "")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ------------------------------------------------------------------------------ students
@dataclass
class Player:
    n: int
    pressed: float | None = None
    window_end: float | None = None
    epochs: list = field(default_factory=list)     # (time, epoch) of every Epoch metric received
    errors: list = field(default_factory=list)
    session: Session | None = None
    browser_trained: bool = False                  # the page trains in the browser (a component) …
    syncs: list = field(default_factory=list)      # … and this player sent it back: (sent, answered) times

    def on_text(self, e: TextEvent) -> None:
        if e.kind == "metric" and e.label == "Epoch":
            m = EPOCH.search(e.text.split(":", 1)[-1])
            if m:
                self.epochs.append((e.t, int(m.group().replace(",", ""))))

    def figures(self) -> dict:
        if self.pressed is None:
            return {"updates_per_s": None, "epochs_per_s": None, "updates": 0, "epochs": 0}
        if self.browser_trained:  # the updates and epochs happen in the student's browser, not here
            window = self.window_end - self.pressed
            answered = [b - a for a, b in self.syncs if b is not None]
            return {"browser_trained": True, "updates": None, "epochs": None, "seconds": window,
                    "updates_per_s": None, "epochs_per_s": None, "syncs": len(self.syncs),
                    "syncs_per_s": len(self.syncs) / window, "sync_answered_s": spread(answered)}
        before = [ep for t, ep in self.epochs if t < self.pressed]
        start = before[-1] if before else 0
        seen = [(t, ep) for t, ep in self.epochs if self.pressed <= t <= self.window_end]
        window = self.window_end - self.pressed
        last = seen[-1][1] if seen else start
        changes = sum(1 for (_, a), (_, b) in zip([(0, start)] + seen, seen) if b != a)  # a new number shown
        return {"updates": changes, "epoch_metrics": len(seen), "epochs": last - start, "seconds": window,
                "updates_per_s": changes / window, "epochs_per_s": (last - start) / window}


@dataclass
class Trainer:
    n: int
    at: float = 0.0                # planned press, seconds after the start
    opened: float | None = None
    pressed: float | None = None
    train_page: float | None = None  # the Train page's run after the press finished
    ended: float | None = None
    status: str = ""
    statuses: list = field(default_factory=list)   # (time, status) as the badge changed
    queue_texts: list = field(default_factory=list)  # (time, kind, text) mentioning the queue or a wait
    errors: list = field(default_factory=list)
    session: Session | None = None

    def on_text(self, e: TextEvent) -> None:
        if QUEUE_WORDS.search(e.text) and e.kind != "button" and not BADGE.search(e.text):  # statuses apart
            if not self.queue_texts or self.queue_texts[-1][2] != e.text:
                self.queue_texts.append((e.t, e.kind, e.text))
        m = BADGE.search(e.text) if e.kind == "markdown" else None
        if m:
            status = m.group(1)
            if status != self.status:
                self.statuses.append((e.t, status))
                self.status = status
            if status not in ACTIVE and self.ended is None and self.pressed is not None:
                self.ended = e.t

    def estimate(self) -> dict | None:
        """The first wait the page promised ("about 65 s") against the wait until the job ran."""
        started = next((t for t, status in self.statuses if status not in ("queued",)), None)
        for when, _, text in self.queue_texts:
            m = ESTIMATE.search(text)
            if m and started is not None:
                said = float(m.group(1)) * (60 if m.group(2).startswith("min") else 1)
                return {"said_s": said, "waited_s": max(0.0, started - when), "text": text[:160]}
        return None


async def play(p: Player, url: str, args, all_open: asyncio.Barrier, results: dict) -> None:
    s = p.session = Session(url, name=f"player {p.n}", media=not args.no_media, assets=not args.no_assets)
    s.on_text.append(p.on_text)
    opened = False
    try:
        await s.open("/playground", timeout=300)
        opened = True
    except (SessionError, OSError) as e:
        p.errors.append(f"open: {e}")
    first = await all_open.wait() == 0
    if first:
        results["play_start"] = (time.time(), tree_cpu(results["roots"]), sum(os.times()[:2]))
    try:
        if opened:
            p.pressed = await s.click("▶ Play", wait=False)
            p.window_end = p.pressed + args.seconds
            if browser_panel(s) is not None:
                await sync_like_the_browser(p, s)
            else:
                await asyncio.sleep(args.seconds)
        if first:
            results["play_end"] = (time.time(), tree_cpu(results["roots"]), sum(os.times()[:2]))
    except (SessionError, OSError) as e:
        p.errors.append(f"play: {e}")
    finally:
        results["player_stats"][p.n] = s.stats
        p.errors += s.errors
        await s.close()  # the player leaves: its load ends with its window


def browser_panel(s: Session):
    """The Playground's live panel when the browser trains it: a component whose data carries a
    sync interval (pages/_playground_live.py), else None."""
    for node in s.components():
        data = Session.component_data(node)
        if isinstance(data, dict) and "sync_s" in data and "playing" in data:
            return node
    return None


async def sync_like_the_browser(p: Player, s: Session) -> None:
    """While the browser trains, what the server sees of it: every `sync_s` seconds the component
    hands its network back (nets/playground/web/live.js: setStateValue("sync", snapshot)). This
    player sends back the network the server last sent it, with the bookkeeping it came with: the
    server's work per sync (checking and applying it, the rerun, the panel sent again) is the same
    whatever the numbers; the epochs themselves are the student's laptop's, not measured here."""
    p.browser_trained = True
    await s.wait_until(lambda: (data := _panel_data(s)) is not None and data.get("playing"), 60, "Play to start")
    seq = 0
    while time.time() < p.window_end and not s.closed:
        data = _panel_data(s)
        await asyncio.sleep(min(float(data.get("sync_s", 3.0)), max(0.0, p.window_end - time.time())))
        if time.time() >= p.window_end:
            break
        node, data = browser_panel(s), _panel_data(s)
        if node is None or not data.get("playing"):
            p.errors.append("the live panel stopped playing")
            break
        net, seq = data["net"], seq + 1
        snapshot = {"version": data["version"], "seq": seq, "params": net["params"], "bn": net["bn"],
                    "epoch": data["epoch"], "position": data["position"], "batches": data["batches"],
                    "history": data["history"]}
        runs = s.stats.full_runs + s.stats.fragment_runs + s.stats.early_runs
        sent = time.time()
        p.syncs.append([sent, None])
        await s.set_component_state(node, "sync", snapshot)
        try:
            await s.wait_until(lambda: s.stats.full_runs + s.stats.fragment_runs + s.stats.early_runs > runs,
                               max(1.0, p.window_end - time.time() + 30), "the run after a sync")
            p.syncs[-1][1] = time.time()
        except SessionError as e:
            p.errors.append(str(e))
            break


def _panel_data(s: Session):
    node = browser_panel(s)
    return Session.component_data(node) if node is not None else None


async def train(tr: Trainer, url: str, args, t0: float, deadline: float) -> None:
    await asyncio.sleep(max(0.0, t0 + tr.at - time.time()))
    s = tr.session = Session(url, name=f"trainer {tr.n}", media=not args.no_media, assets=not args.no_assets)
    s.on_text.append(tr.on_text)
    try:
        await s.open("/", timeout=max(1.0, deadline - time.time()))
        tr.opened = time.time()
        tr.pressed = time.time()
        await s.click("▶ Train now", near="MNIST in a minute", timeout=max(1.0, deadline - time.time()))
        tr.train_page = time.time()
        if not tr.statuses:
            tr.errors.append("no job shown after pressing Train now: "
                             + " | ".join(t.text[:120] for t in s.texts[-5:]))
            return
        await s.wait_until(lambda: tr.ended is not None, max(1.0, deadline - time.time()), "end of the job")
    except (SessionError, OSError) as e:
        tr.errors.append(f"{type(e).__name__}: {e}")
    finally:
        tr.errors += s.errors
        await s.close()


async def drive(url: str, args, players: list[Player], trainers: list[Trainer], cpu_roots: list[int]) -> dict:
    results: dict = {"player_stats": {}, "roots": cpu_roots, "lag": []}
    deadline = time.time() + args.timeout

    async def watch_lag():  # how late this client's event loop wakes up: is the client keeping up?
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.1)
            results["lag"].append(time.monotonic() - t - 0.1)
    lag = asyncio.create_task(watch_lag())
    all_open = asyncio.Barrier(len(players)) if players else None
    t0 = time.time()
    for k, tr in enumerate(trainers):
        tr.at = k * args.spread / max(1, len(trainers))
    playing = [asyncio.create_task(play(p, url, args, all_open, results)) for p in players]
    training = [asyncio.create_task(train(tr, url, args, t0, deadline)) for tr in trainers]
    for result in await asyncio.gather(*playing, *training, return_exceptions=True):
        if isinstance(result, BaseException):
            results.setdefault("driver_errors", []).append(f"{type(result).__name__}: {result}")
    results["cpu_end"] = tree_cpu(cpu_roots)
    results["client_cpu_end"] = sum(os.times()[:2])
    lag.cancel()
    return results


# ------------------------------------------------------------------------------ the same player in Chromium
async def browser_player(url: str, seconds: float, nice: int = 0) -> tuple[Player, float, dict]:
    """One player in headless Chromium (1366×768): the same page and press, its updates read from
    the very ForwardMsgs the browser receives. `nice`: added to the browser processes' niceness, so
    that they take less from the server than a browser on the same 2 cores otherwise would (a
    student's browser runs on their own laptop). Returns the player, the browser's CPU seconds and
    the auto-reruns it sent and fragment runs it received."""
    from playwright.async_api import async_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from streamlit.proto.BackMsg_pb2 import BackMsg

    player = Player(0)
    counts = {"auto_reruns_sent": 0, "fragment_runs": 0, "syncs_sent": 0}

    def received(payload) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        kind = msg.WhichOneof("type")
        if kind == "script_finished" and msg.metadata.run.fragment_ids and player.pressed:
            counts["fragment_runs"] += 1
        e = msg.delta.new_element if kind == "delta" else None
        if e is not None and e.WhichOneof("type") == "metric":
            player.on_text(TextEvent(time.time(), "metric", f"{e.metric.label}: {e.metric.body}", label=e.metric.label))

    def sent(payload) -> None:
        msg = BackMsg()
        msg.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        if msg.WhichOneof("type") == "rerun_script" and player.pressed:
            counts["auto_reruns_sent"] += msg.rerun_script.is_auto_rerun
            counts["syncs_sent"] += any(w.WhichOneof("value") == "json_value" and w.json_value.startswith('{"sync"')
                                        for w in msg.rerun_script.widget_states.widgets) \
                and not any(w.WhichOneof("value") == "trigger_value" for w in msg.rerun_script.widget_states.widgets)

    def on_ws(ws) -> None:
        ws.on("framereceived", received)
        ws.on("framesent", sent)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding"])
        cpu0 = _browser_cpu()
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        page.on("websocket", on_ws)
        _renice_browser(nice)
        await page.goto(url + "/playground")
        _renice_browser(nice)
        await page.get_by_text("Learning rate").first.wait_for(timeout=120_000)
        await page.wait_for_timeout(300)
        await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
        play_button = page.get_by_role("button", name=re.compile(r"^\W*Play$")).first
        await play_button.wait_for(timeout=30_000)
        in_browser = page.get_by_test_id("pg-epoch")  # the Playground trained in the browser draws its own numbers

        async def epoch() -> int | None:
            if not await in_browser.count():
                return None
            return int((await in_browser.first.inner_text()).replace(",", "") or 0)
        start = await epoch()
        player.pressed = time.time()
        await play_button.click()
        player.window_end = player.pressed + seconds
        while time.time() < player.window_end:
            _renice_browser(nice)
            await asyncio.sleep(min(1.0, max(0.0, player.window_end - time.time())))
        if start is not None:
            player.browser_trained = True
            counts["browser_epochs_per_s"] = ((await epoch() or 0) - start) / seconds
        cpu = _browser_cpu() - cpu0
        await browser.close()
    return player, cpu, counts


def _browser_processes() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if b"chrom" in (d / "cmdline").read_bytes().split(b"\0")[0]:
                    out.append(int(d.name))
            except OSError:
                continue
    return out


def _renice_browser(nice: int) -> None:
    if nice <= 0:
        return
    for pid in _browser_processes():
        try:
            os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + nice))
        except OSError:
            pass


def _browser_cpu() -> float:
    """CPU seconds of the live processes below this one but the app server's: Chromium and
    Playwright's driver."""
    kids = [pid for pid in _children(os.getpid()) if b"streamlit" not in _cmdline(pid)]  # not the app server
    cpu = tree_cpu(kids)
    return cpu["app"] + cpu["workers"] + cpu["proxy"]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def compare_browser(args) -> int:
    with tempfile.TemporaryDirectory(prefix="nnlab-class-") as tmp:
        ckpt = Path(tmp) / "checkpoints"
        ckpt.mkdir()
        with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}, timeout=120) as url:
            roots = _pids_listening(url.rsplit(":", 1)[1])
            print(f"compare: server {url}; one player at a time for {args.seconds:g} s; load average {loadavg()}",
                  flush=True)
            rows = []

            async def protocol_player(player: Player) -> dict:
                results = {"player_stats": {}, "roots": roots}
                await play(player, url, args, asyncio.Barrier(1), results)
                st = results["player_stats"][player.n]
                return {"auto_reruns_sent": st.auto_reruns_sent, "fragment_runs": len(st.fragment_seconds),
                        "syncs_sent": len(player.syncs)}

            asyncio.run(protocol_player(Player(-1, errors=[])))  # warm-up: the server's first views are slow
            for kind in ("Chromium", "protocol client") * args.repeat:
                cpu0, client0, load0 = tree_cpu(roots), sum(os.times()[:2]), loadavg()
                if kind == "Chromium":
                    player, extra, counts = asyncio.run(browser_player(url, args.seconds, args.browser_nice))
                else:
                    player = Player(1)
                    counts = asyncio.run(protocol_player(player))
                    extra = sum(os.times()[:2]) - client0
                cpu = tree_cpu(roots)
                rows.append({"kind": kind, **player.figures(), **counts, "server_cpu_s": cpu["app"] - cpu0["app"],
                             "driver_cpu_s": extra, "errors": player.errors, "load_before": load0,
                             "load_after": loadavg()})
    def num(v, fmt):
        return "—" if v is None else format(v, fmt)
    print("                   updates/s epochs/s auto-reruns/s syncs/s fragment runs/s server CPU s client CPU s")
    for r in rows:
        w = r["seconds"] or float("nan")
        epochs = r["epochs_per_s"] if r["epochs_per_s"] is not None else r.get("browser_epochs_per_s")
        print(f"  {r['kind']:<16} {num(r['updates_per_s'], '.2f'):>9} {num(epochs, '.1f'):>8} "
              f"{r['auto_reruns_sent'] / w:>13.2f} {r['syncs_sent'] / w:>7.2f} {r['fragment_runs'] / w:>15.2f} "
              f"{r['server_cpu_s']:>12.1f} {r['driver_cpu_s']:>11.1f}   load {r['load_before']} → {r['load_after']}"
              + (f"  errors: {r['errors']}" if r["errors"] else ""))
    print("  (each player alone on a warmed-up server, page load included in the CPU figures; server: the app "
          "process; client: this script's process, or Chromium's; on a Playground trained in the browser the "
          "protocol client has no epochs of its own)")
    if args.json:
        args.json.write_text(json.dumps({"compare": rows, "seconds": args.seconds}, indent=1))
    return 1 if any(r["errors"] for r in rows) else 0


# ------------------------------------------------------------------------------ runs on disk
def saved_runs(ckpt: Path | None) -> list[dict]:
    if ckpt is None:
        return []
    from nets.runs.folder import list_runs
    runs, problems = list_runs(ckpt)
    return [{"id": r.id, **r.info} for r in runs] + [{"id": "?", "status": f"unreadable: {p}"} for p in problems]


# ------------------------------------------------------------------------------ the run
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare_browser:
        return compare_browser(args)
    players = [Player(n + 1) for n in range(args.players)]
    trainers = [Trainer(n + 1) for n in range(args.trainers)]
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="nnlab-class-") as tmp:
        page_times = Path(tmp) / "page-times.tsv"
        if args.url:
            ckpt, server = args.checkpoints, None
            url, roots = args.url.rstrip("/"), list(args.pids)
        else:
            ckpt = Path(tmp) / "checkpoints"
            ckpt.mkdir()
            env = {"NNLAB_CHECKPOINTS": str(ckpt), "NNLAB_PAGE_TIMES": str(page_times)}
            if args.max_jobs:
                env["NNLAB_MAX_JOBS"] = str(args.max_jobs)
            if args.procs:
                run_dir = Path(tmp) / "serve"
                server = nets_serve(args.procs, env, run_dir)
                url, launcher = server.__enter__()
                roots, logs = [launcher], [run_dir / f"app{i + 1}.log" for i in range(args.procs)] + [
                    run_dir / "jobs.log"]
            else:
                server = streamlit_server(env, timeout=120)
                url = server.__enter__()
                port = url.rsplit(":", 1)[1]
                roots = _pids_listening(port)
                logs = [Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{port}.log"]
        try:
            what = f"{args.procs} app processes behind nginx (nets serve)" if args.procs else "one streamlit process"
            print(f"class: server {url}, {what} (pids {roots or '?'}), app at {app_version()}, {args.players} players "
                  f"for {args.seconds:g} s, {args.trainers} trainers over {args.spread:g} s; load average {load_before}",
                  flush=True)
            cpu0, client0, wall0 = tree_cpu(roots), sum(os.times()[:2]), time.time()
            results = asyncio.run(drive(url, args, players, trainers, roots))
            wall = time.time() - wall0
            server_errors = _server_tracebacks(logs) if server is not None else []
        finally:
            if server is not None:
                server.__exit__(None, None, None)
        load_after = loadavg()
        runs = saved_runs(ckpt)
        from nets.server.log import read_page_times
        pages = {page: spread(times) for page, times in
                 read_page_times(str(page_times) if not args.url else "").items()}

    cpu = {k: results["cpu_end"][k] - cpu0[k] for k in cpu0}
    client_cpu = results["client_cpu_end"] - client0
    return report(args, players, trainers, runs, pages, cpu, client_cpu, wall, results, server_errors,
                  load_before, load_after)


@contextmanager
def nets_serve(procs: int, env: dict, run_dir: Path, timeout: float = 240):
    """`python -m nets serve --procs N` (N app processes behind nginx) on a free local port; yields
    its address and the launcher's pid (its processes are the launcher's children)."""
    from browser import free_port
    port = free_port()
    log = open(run_dir.parent / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "nets", "serve", "--procs", str(procs), "--listen",
                             f"127.0.0.1:{port}", "--run-dir", str(run_dir)], cwd=ROOT,
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while "Neural Net Lab:" not in Path(log.name).read_text(errors="replace"):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"nets serve did not start: {Path(log.name).read_text(errors='replace')[-1500:]}")
            time.sleep(0.5)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _pids_listening(port: str) -> list[int]:
    """The streamlit process started here: the one whose command line names the port."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and port.encode() in cmd and int(d.name) != os.getpid():
                out.append(int(d.name))
    return out


def _server_tracebacks(logs: list[Path]) -> list[str]:
    out = []
    for log in logs:
        if not log.exists():
            continue
        lines = log.read_text(errors="replace").splitlines()
        out += [f"server log {log.name}: " + next((t for t in lines[i + 1:] if t and not t.startswith(" ")), line)
                for i, line in enumerate(lines) if line.startswith("Traceback")]
    return out


def report(args, players, trainers, runs, pages, cpu, client_cpu, wall, results, server_errors,
           load_before, load_after) -> int:
    pf = [p.figures() for p in players]
    ups = spread([f["updates_per_s"] for f in pf])
    eps = spread([f["epochs_per_s"] for f in pf])
    stats = list(results["player_stats"].values())
    frag_s = [x for st in stats for x in st.fragment_seconds]
    submitted = [t for t in trainers if t.statuses]
    done = [t for t in trainers if t.ended is not None]
    completed = [r for r in runs if r.get("status") == "completed"]
    presses = [t.pressed for t in trainers if t.pressed]
    first_press = min(presses, default=None)
    last_done = max((t.ended for t in done), default=None)
    errors = (results.get("driver_errors", []) + [f"player {p.n}: {e}" for p in players for e in p.errors]
              + [f"trainer {t.n}: {e}" for t in trainers for e in t.errors] + server_errors)
    failed = [f"trainer {t.n}: {t.status}" for t in done if t.status != "completed"]
    lost = len(submitted) - len(runs) if trainers else 0
    waits = [t.ended - t.pressed for t in done]

    print(f"wall time:        {wall:.1f} s; load average before {load_before}, after {load_after}")
    browser_trained = [p for p in players if p.browser_trained]
    if players:
        print(f"players:          {len(players)} playing {args.seconds:g} s each, at once")
        if browser_trained:
            syncs = spread([f["syncs_per_s"] for f in pf if f.get("browser_trained")])
            answered = [b - a for p in browser_trained for a, b in p.syncs if b is not None]
            print(f"  trained in the browser ({len(browser_trained)} players): the server answered syncs at median "
                  f"{syncs['median']:.2f}/s per player; a sync's run finished p50 {percentile(answered, 50):.2f} s, "
                  f"p95 {percentile(answered, 95):.2f} s after it was sent (updates and epochs are the browsers')")
        if len(browser_trained) < len(players):
            print(f"  updates/s       median {ups['median']:.2f}, min {ups['min']:.2f}, max {ups['max']:.2f}")
            print(f"  epochs/s        median {eps['median']:.1f}, min {eps['min']:.1f}, max {eps['max']:.1f}")
        if frag_s:
            print(f"  fragment run    p50 {percentile(frag_s, 50) * 1000:.0f} ms, p95 {percentile(frag_s, 95) * 1000:.0f} ms "
                  f"(new_session to script_finished, seen by the client; {len(frag_s)} runs)")
        sent = sum(st.auto_reruns_sent for st in stats)
        print(f"  auto-reruns     {sent} sent; {sum(st.fragment_runs for st in stats)} fragment runs ended as "
              f"finished, {sum(st.early_runs for st in stats)} runs as stopped for a waiting rerun; "
              f"{sum(st.bytes_in for st in stats) / 2**20:.1f} MiB over the websockets, "
              f"{sum(st.media_fetched for st in stats)} images ({sum(st.media_bytes for st in stats) / 2**20:.1f} MiB), "
              f"{sum(st.media_missing for st in stats)} gone before they were fetched")
    if trainers:
        print(f"trainers:         {len(trainers)} pressing over {args.spread:g} s; {len(submitted)} jobs shown, "
              f"{len(done)} seen to end")
        print(f"jobs:             {len(completed)} completed of {len(runs)} saved, {len(submitted)} submitted, "
              f"{max(lost, 0)} lost" + (f"; not completed: {', '.join(failed[:5])}" if failed else ""))
        if first_press and last_done:
            print(f"  first press → last job done: {last_done - first_press:.1f} s; press → end per trainer: "
                  f"median {statistics.median(waits):.1f} s, max {max(waits):.1f} s")
        told = {t.n: [q for q in t.queue_texts if QUEUE_PLACE.search(q[2])] for t in trainers}
        shown = [t for t in trainers if told[t.n]]
        print(f"  queue/wait texts: {len(shown)} of {len(trainers)} trainers were told about the queue or a wait "
              f"(first and last text of a few):")
        for t in shown[:2] + ([shown[-1]] if len(shown) > 2 else []):
            texts = told[t.n]
            for when, kind, text in texts[:1] + texts[1:][-1:]:
                print(f"    trainer {t.n}, {when - t.pressed:+.1f} s after pressing, {kind}: {text[:120]!r}")
            print(f"    trainer {t.n}: job ended {t.ended - t.pressed:.1f} s after pressing" if t.ended else
                  f"    trainer {t.n}: job not seen to end")
        said = [e for e in (t.estimate() for t in trainers) if e]
        if said:
            ratios = [e["waited_s"] / e["said_s"] for e in said if e["said_s"] > 0]
            print(f"  the first wait promised ('about N s/min') against the wait until the job ran, "
                  f"{len(said)} trainers: waited/said median {statistics.median(ratios):.2f}, "
                  f"range {min(ratios):.2f}–{max(ratios):.2f}")
    print("page script time (s), from $NNLAB_PAGE_TIMES:   n     p50     p95     max")
    for page, st in sorted(pages.items()):
        print(f"  {page:<28} {st['n']:>5} {st['median']:>7.3f} {st['p95']:>7.3f} {st['max']:>7.3f}")
    print(f"CPU seconds:      app server {cpu['app']:.1f}, job workers and queue {cpu['workers']:.1f}"
          + (f", nginx {cpu['proxy']:.1f}" if args.procs else "") + f", this client {client_cpu:.1f} "
          f"(of {wall * os.cpu_count():.0f} core-seconds in the wall time)")
    play_cpu = None
    if "play_start" in results and "play_end" in results:
        (t0, c0, k0), (t1, c1, k1) = results["play_start"], results["play_end"]
        play_cpu = {"seconds": t1 - t0, **{k: c1[k] - c0[k] for k in c0}, "client": k1 - k0}
        per = play_cpu["app"] / play_cpu["seconds"] / len(players)
        print(f"  while playing:  app server {play_cpu['app']:.1f} CPU-s in {play_cpu['seconds']:.1f} s "
              f"({play_cpu['app'] / play_cpu['seconds']:.2f} cores; {per:.3f} CPU-s per second per player), "
              f"job workers {play_cpu['workers']:.1f}, this client {play_cpu['client']:.1f}")
    lag = results["lag"]
    print(f"client loop lag:  p50 {percentile(lag, 50) * 1000:.0f} ms, p99 {percentile(lag, 99) * 1000:.0f} ms, "
          f"max {max(lag, default=0) * 1000:.0f} ms (how late this client's timers fired)")
    print(f"errors:           {len(errors)}")
    for e in errors[:8]:
        print(f"  - {e[:300]}")
    if len(errors) > 8:
        print(f"  … and {len(errors) - 8} more")
    trained_here = len(browser_trained) < len(players)
    synced = [f["syncs_per_s"] for f in pf if f.get("browser_trained")]
    summary = (f"class: {len(players)} players" + (f" median {ups['median']:.2f} updates/s {eps['median']:.1f} epochs/s "
                                                    f"(min {ups['min']:.2f}, {eps['min']:.1f})" if trained_here else "")
               + (f" trained in their browsers, syncs answered median {statistics.median(synced):.2f}/s"
                  if synced else "")
               + f"; {len(trainers)} trainers" + (f", {len(completed)} jobs completed, {max(lost, 0)} lost" if trainers else "")
               + (f", last done {last_done - first_press:.0f} s after the first press" if first_press and last_done else "")
               + f"; {len(errors)} errors")
    print(summary, flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "summary": summary, "app": app_version(), "wall_s": wall, "load_before": load_before, "load_after": load_after,
            "players": {"n": len(players), "seconds": args.seconds, "updates_per_s": ups, "epochs_per_s": eps,
                        "each": pf, "fragment_run_s": spread(frag_s)},
            "trainers": {"n": len(trainers), "spread_s": args.spread, "submitted": len(submitted),
                         "seen_to_end": len(done), "saved": len(runs), "completed": len(completed),
                         "lost": max(lost, 0),
                         "first_press_to_last_done_s": (last_done - first_press) if first_press and last_done else None,
                         "press_to_end_s": spread(waits),
                         "each": [{"n": t.n, "pressed": t.pressed, "train_page": t.train_page, "ended": t.ended,
                                   "status": t.status, "statuses": t.statuses, "queue_texts": t.queue_texts,
                                   "estimate": t.estimate(),
                                   "errors": t.errors} for t in trainers]},
            "runs": [{"id": r.get("id"), "status": r.get("status")} for r in runs],
            "page_times": pages, "cpu_s": {**cpu, "client": client_cpu}, "cpu_while_playing_s": play_cpu,
            "client_loop_lag_s": spread(lag), "errors": errors,
            "args": {k: str(v) for k, v in vars(args).items()}}, indent=1))
    bad = errors or failed or lost > 0 or (trainers and len(completed) < len(trainers))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
