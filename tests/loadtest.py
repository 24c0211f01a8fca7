"""Load test (a script, not a pytest test): many students use one server at the same time.

Starts `streamlit run app.py` (tests/browser.py's `streamlit_server`, with an empty temporary
checkpoints folder) and drives N simultaneous sessions, each a headless Chromium page in its own
browser context (one browser, Playwright's async API), through

    Home   open the app, until "Start here" shows
    Train  the sidebar's Train link, until the Train heading and the parameter count show
    Start  (Epochs and "Training images per class" set first) press Train, until the job shows, queued or not
    Job    until "Completed all" shows (queued jobs wait their turn: NNLAB_MAX_JOBS)
    Runs   "Runs" in the sidebar, until the run table shows

Sessions start in waves a few seconds apart and all stay open until the last one is done. It prints
per-step latency percentiles, the jobs completed (runs saved with status "completed" and the
settings asked for) and the errors (timeouts, exceptions on a page, failed jobs, tracebacks in the
server log), then one summary line. Exit status 1 when there was any error or a job is missing.

    nice -n 5 python tests/loadtest.py --sessions 30
    python tests/loadtest.py --sessions 2 --json /tmp/load.json     # a quick check (the suite runs tests/load_class.py instead)

A failed session leaves a screenshot and its errors in full in test-artifacts/ (see --artifacts).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from browser import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_server

sys.path.insert(0, str(ROOT))
from nets.server.log import read_page_times  # noqa: E402

STEPS = ("Home", "Train", "Start", "Job", "Runs")
# Every simulated student has a tab in the foreground of their own machine: do not let Chromium
# throttle the timers of pages it considers hidden.
EXTRA_ARGS = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
              "--disable-backgrounding-occluded-windows"]
MAIN = '[data-testid="stMain"]'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=30, help="simultaneous browser sessions (default 30)")
    p.add_argument("--epochs", type=int, default=1, help="epochs per training job (default 1)")
    p.add_argument("--train-per-class", type=int, default=20,
                   help="training images per class, 0 = all (default 20)")
    p.add_argument("--max-jobs", type=int, default=2, help="NNLAB_MAX_JOBS for the server (default 2)")
    p.add_argument("--ray", default="", metavar="ADDRESS",
                   help="train through a Ray cluster (NNLAB_RAY_ADDRESS, e.g. auto after `ray start --head`)")
    p.add_argument("--timeout", type=float, default=600, help="seconds for the whole test (default 600)")
    p.add_argument("--step-timeout", type=float, default=180,
                   help="seconds for one page step (Home, Train, Start, Runs; default 180)")
    p.add_argument("--wave-size", type=int, default=5, help="sessions started together (default 5)")
    p.add_argument("--wave-gap", type=float, default=3, help="seconds between waves (default 3)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--artifacts", type=Path, default=ROOT / "test-artifacts",
                   help="where a failed session leaves a screenshot and its errors in full "
                        "(default test-artifacts/, as load-session-NN.png and .txt)")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------ figures
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def step_stats(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90),
            "p95": percentile(values, 95), "p99": percentile(values, 99),
            "max": max(values) if values else float("nan")}


def mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds_by_kind() -> dict[str, float]:
    """CPU seconds used so far by this script's process tree: the Streamlit server, the Chromium
    processes, Playwright's driver and this script (read from /proc; processes that already exited
    count only where their parent collected them)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        procs[int(d.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick, cmd)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out = {"server": 0.0, "chromium": 0.0, "driver": 0.0, "script": sum(os.times()[:2])}
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        _, cpu, cmd = procs[pid]
        kind = ("server" if "streamlit" in cmd else "chromium" if "chrom" in cmd
                else "driver" if "node" in cmd or "playwright" in cmd else "script")
        out[kind] += cpu
    return out


def saved_runs(ckpt: Path) -> list[dict]:
    runs = []
    for f in sorted(ckpt.glob("*/run.json")):
        try:
            runs.append(json.loads(f.read_text()))
        except (OSError, ValueError) as e:
            runs.append({"id": f.parent.name, "status": f"unreadable: {e}"})
    return runs


def server_tracebacks(url: str) -> list[str]:
    """Tracebacks in the server's log (tests/browser.py writes it to $TMPDIR/streamlit-<port>.log)."""
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{url.rsplit(':', 1)[1]}.log"
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            tail = next((t for t in lines[i + 1:] if t and not t.startswith(" ")), "")
            out.append(f"server log {log.name}: {tail or line}")
    return out


# ------------------------------------------------------------------------------ one student
class Session:
    def __init__(self, n: int):
        self.n = n
        self.latency: dict[str, float] = {}
        self.errors: list[str] = []
        self.details: list[str] = []        # the errors in full (Playwright's call log included)
        self.queued_at: int | None = None   # queue position seen right after pressing Train

    def error(self, step: str, message: str) -> None:
        first = message.strip().splitlines()[0][:300] if message.strip() else "?"
        self.errors.append(f"session {self.n} {step}: {first}")
        self.details.append(f"{step}: {message}")


async def page_exceptions(page) -> list[str]:
    """Exceptions Streamlit shows on the page (data-testid="stException")."""
    boxes = page.get_by_test_id("stException")
    return [(await boxes.nth(i).inner_text()).strip() for i in range(await boxes.count())]


async def timed(s: Session, step: str, page, action, until, timeout_s: float) -> bool:
    """Run `action`, wait for `until` (a coroutine function); record the seconds or the error."""
    t0 = time.perf_counter()
    try:
        if action is not None:
            await action()
        await until(timeout_s * 1000)
    except Exception as e:  # a timeout, a closed page: the session stops here
        s.error(step, f"{type(e).__name__}: {e}")
        for text in await page_exceptions(page):
            s.error(step, f"exception on the page: {text}")
        return False
    s.latency[step] = time.perf_counter() - t0
    for text in await page_exceptions(page):
        s.error(step, f"exception on the page: {text}")
    return not s.errors


async def student(s: Session, browser, url: str, args, deadline: float, done: _Flag, shots: Path | None):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    main = page.locator(MAIN)

    def step_timeout() -> float:  # seconds for the next wait: a step's share, never past the deadline
        return max(1.0, min(args.step_timeout, deadline - time.time()))

    try:
        # Home
        ok = await timed(s, "Home", page, lambda: page.goto(url, timeout=step_timeout() * 1000),
                         lambda t: main.get_by_text("Start here").wait_for(timeout=t), step_timeout())
        # Train: the sidebar's link to the Train page (its default settings)
        if ok:
            async def train_ready(t):
                await main.get_by_role("heading", name="Train").wait_for(timeout=t)
                await main.get_by_text("parameters ·").first.wait_for(timeout=t)  # the summary with the parameter count
            ok = await timed(s, "Train", page,
                             lambda: page.locator('[data-testid="stSidebarNav"]').get_by_role(
                                 "link", name="Train", exact=True).click(timeout=step_timeout() * 1000),
                             train_ready, step_timeout())
        # Start: a tiny run (setting the form is not timed; pressing Train is)
        if ok:
            try:
                for label, value in (("Epochs", args.epochs),
                                     ("Training images per class (0 = all)", args.train_per_class)):
                    box = main.get_by_role("spinbutton", name=label, exact=True)
                    await box.fill(str(value), timeout=step_timeout() * 1000)
                    await box.press("Enter")
                await page.wait_for_timeout(500)
            except Exception as e:
                s.error("Start", f"setting the form: {type(e).__name__}: {e}")
                ok = False
        if ok:
            shown = (main.get_by_text("Queued: position").or_(main.get_by_test_id("stProgress"))
                     .or_(main.get_by_text("Completed all")).or_(main.get_by_text("Training failed")))
            ok = await timed(s, "Start", page,
                             lambda: main.get_by_role("button", name="Train", exact=True).click(
                                 timeout=step_timeout() * 1000),
                             lambda t: shown.first.wait_for(timeout=t), step_timeout())
            if ok:
                # all_inner_texts does not wait: the job may leave the queue at any moment
                for text in (await main.get_by_text("Queued: position").all_inner_texts())[:1]:
                    try:
                        s.queued_at = int(text.split("position", 1)[1].split()[0].strip("—-.,"))
                    except (IndexError, ValueError):
                        s.queued_at = -1
        # Job: until it has finished (the Start step's time is part of it)
        if ok:
            t_start = time.perf_counter() - s.latency["Start"]
            finished = main.get_by_text("Completed all").or_(main.get_by_text("Training failed"))
            try:
                await finished.first.wait_for(timeout=max(1.0, deadline - time.time()) * 1000)
                text = await main.inner_text()
                if "Training failed" in text:
                    s.error("Job", text[text.index("Training failed"):])
                    ok = False
                else:
                    s.latency["Job"] = time.perf_counter() - t_start
            except Exception as e:
                s.error("Job", f"{type(e).__name__}: {e}")
                ok = False
            for text in await page_exceptions(page):
                s.error("Job", f"exception on the page: {text}")
            ok = ok and not s.errors
        # Runs
        if ok:
            await timed(s, "Runs", page,
                        lambda: page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Runs").click(
                            timeout=step_timeout() * 1000),
                        lambda t: main.get_by_test_id("stDataFrame").first.wait_for(timeout=t), step_timeout())
    except Exception as e:  # anything unexpected in the driver itself
        s.error("driver", f"{type(e).__name__}: {e}")
    if s.errors and shots is not None:
        try:
            shots.mkdir(parents=True, exist_ok=True)
            text = await page.locator("body").inner_text(timeout=10_000)
            (shots / f"load-session-{s.n:02d}.txt").write_text(
                "\n\n".join(s.details) + f"\n\n---- the page ({page.url}) ----\n{text}")
            await page.screenshot(path=str(shots / f"load-session-{s.n:02d}.png"), full_page=True)
        except Exception as e:
            print(f"load: no screenshot of session {s.n}: {e}", file=sys.stderr)
    # Stay connected (an open tab, an open websocket) until every student is done.
    await done.wait()
    await context.close()


# ------------------------------------------------------------------------------ the test
async def drive(url: str, args, sessions: list[Session], deadline: float, mem: list[float], cpu: dict) -> None:
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + EXTRA_ARGS)
        done = asyncio.Event()                            # every student has finished its steps
        settled = {s.n: asyncio.Event() for s in sessions}  # this student has finished its steps

        async def one(s: Session):
            try:
                await asyncio.sleep((s.n - 1) // max(1, args.wave_size) * args.wave_gap)
                await student(s, browser, url, args, deadline, _Flag(settled[s.n], done), args.artifacts)
            finally:
                settled[s.n].set()

        async def watch_memory():
            while not done.is_set():
                mem.append(mem_available_mb())
                await asyncio.sleep(1)

        tasks = [asyncio.create_task(one(s)) for s in sessions]
        memory = asyncio.create_task(watch_memory())
        await asyncio.gather(*(e.wait() for e in settled.values()))
        cpu.update(cpu_seconds_by_kind())  # before the tabs close and their processes exit
        done.set()
        for s, result in zip(sessions, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
            if isinstance(result, BaseException):
                s.error("driver", f"{type(result).__name__}: {result}")
        await memory
        await browser.close()


class _Flag:
    """What a student waits on before closing its tab: it first says it has finished its steps."""

    def __init__(self, settled: asyncio.Event, done: asyncio.Event):
        self.settled, self.done = settled, done

    async def wait(self):
        self.settled.set()
        await self.done.wait()


def main(argv=None) -> int:
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"load: {CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    sessions = [Session(n + 1) for n in range(args.sessions)]
    for old in args.artifacts.glob("load-session-*.*"):  # a previous run's failures
        old.unlink()
    mem: list[float] = []
    cpu: dict[str, float] = {}
    mem_before = mem_available_mb()
    with tempfile.TemporaryDirectory(prefix="nnlab-load-") as tmp:
        ckpt = Path(tmp) / "checkpoints"
        ckpt.mkdir()
        t0 = time.time()
        page_times = Path(tmp) / "page-times.tsv"
        with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt), "NNLAB_MAX_JOBS": str(args.max_jobs),
                               "NNLAB_PAGE_TIMES": str(page_times),
                               **({"NNLAB_RAY_ADDRESS": args.ray} if args.ray else {})}) as url:
            print(f"load: server {url}, {args.sessions} sessions in waves of {args.wave_size} every "
                  f"{args.wave_gap:g} s, {args.epochs} epoch(s), {args.train_per_class} images per class, "
                  f"NNLAB_MAX_JOBS={args.max_jobs}", flush=True)
            asyncio.run(drive(url, args, sessions, t0 + args.timeout, mem, cpu))
            wall = time.time() - t0
            server_errors = server_tracebacks(url)
        runs = saved_runs(ckpt)
        server_times = {page: step_stats(times) for page, times in read_page_times(str(page_times)).items()}

    errors = [e for s in sessions for e in s.errors] + server_errors
    completed = [r for r in runs if r.get("status") == "completed"]
    for r in completed:
        cfg = r.get("config", {})
        if cfg.get("epochs") != args.epochs or cfg.get("train_per_class") != args.train_per_class:
            errors.append(f"run {r.get('id')}: trained with epochs={cfg.get('epochs')}, train_per_class="
                          f"{cfg.get('train_per_class')}, not the {args.epochs} and {args.train_per_class} asked for")
    others = [f"{r.get('id')}: {r.get('status')}" for r in runs if r.get("status") != "completed"]
    stats = {step: step_stats([s.latency[step] for s in sessions if step in s.latency]) for step in STEPS}
    queued = [s.queued_at for s in sessions if s.queued_at]
    load1 = float(Path("/proc/loadavg").read_text().split()[0])
    peak_mb = mem_before - min(mem) if mem else float("nan")

    through = sum(not s.errors for s in sessions)
    print(f"sessions:        {args.sessions} (all open at once; {through} went through every step)")
    print(f"wall time:       {wall:.1f} s")
    print(f"jobs completed:  {len(completed)} of {args.sessions} (runs saved with status completed)"
          + (f"; other runs: {', '.join(others)}" if others else ""))
    print(f"queue:           {len(queued)} jobs were queued on pressing Train, "
          f"deepest position {max(queued, default=0)}")
    print(f"memory:          {peak_mb:,.0f} MB more in use on this machine at the peak (server, browser, driver); "
          f"load average {load1:.1f}")
    if cpu:
        print("CPU time:        " + ", ".join(f"{k} {v:.0f} s" for k, v in cpu.items())
              + f" (of {wall * os.cpu_count():.0f} core-seconds in the wall time)")
    print(f"errors:          {len(errors)}")
    for e in errors[:5]:
        print(f"  - {e}")
    if len(errors) > 5:
        print(f"  … and {len(errors) - 5} more")
    if any(s.errors for s in sessions):
        print(f"  (screenshots and full errors: {args.artifacts}/load-session-NN.png and .txt)")
    print("latency (s)      n     p50     p90     p99     max")
    for step in STEPS:
        st = stats[step]
        print(f"  {step:<12} {st['n']:>3} {st['p50']:>7.2f} {st['p90']:>7.2f} {st['p99']:>7.2f} {st['max']:>7.2f}")
    print("server script time per page view (s), apart from the browsers':   n     p50     p95     max")
    for page, st in sorted(server_times.items()):
        print(f"  {page:<24} {st['n']:>5} {st['p50']:>7.3f} {st['p95']:>7.3f} {st['max']:>7.3f}")
    print("  (Home: open until 'Start here'; Train: the sidebar's Train link until the form and parameter count; "
          "Start: Train pressed until the job shows; Job: Train pressed until 'Completed all'; "
          "Runs: sidebar link until the run table)")
    summary = (f"load: {args.sessions} sessions, {len(completed)} jobs completed, {len(errors)} errors, "
               + ", ".join(f"{step} p50 {stats[step]['p50']:.1f} s p90 {stats[step]['p90']:.1f} s"
                           for step in ("Home", "Train", "Job", "Runs")))
    print(summary, flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "sessions": args.sessions, "wall_s": wall, "jobs_completed": len(completed), "errors": errors,
            "latency": stats, "latencies": {step: [s.latency.get(step) for s in sessions] for step in STEPS},
            "queued_positions": queued, "server_page_times": server_times, "peak_extra_memory_mb": peak_mb, "cpu_s": cpu, "summary": summary,
            "args": {k: str(v) for k, v in vars(args).items()}}, indent=1))
    return 0 if not errors and len(completed) == args.sessions else 1


if __name__ == "__main__":
    sys.exit(main())
