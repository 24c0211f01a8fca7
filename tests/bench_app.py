"""Training throughput in the app (live page polling and charts in a real browser) against the
command line, same config, alternating A B A B, medians.

    python tests/bench_app.py [--repeats 3] [--epochs 5] [--detach] [--redraws]

Prints `app N img/s, command line M img/s, app/cli R%`; while a page watches, also how often the live
panel redrew (the progress line and the loss chart's pixels, sampled every 0.1 s in the browser) and
how long after pressing Train the loss chart showed its first line. Needs Debian's chromium.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser import ROOT, chromium_page, streamlit_server  # noqa: E402
from nets.runs import list_runs  # noqa: E402


def cli_rate(epochs: int, ckpt: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "nets", "train", "--preset", "mnist-minute", "--epochs", str(epochs),
                          "--checkpoints", str(ckpt), "--quiet"], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"]


SAMPLE = """() => {
  const p = document.querySelector('[data-testid="stMain"] [data-testid="stProgress"]');
  const e = document.querySelector('[data-testid="stMain"] [data-testid="stVegaLiteChart"]');
  const c = e && e.querySelector('canvas');
  let h = '';
  if (e) { const d = c ? c.toDataURL() : e.innerHTML; let x = 0;
           for (let i = 0; i < d.length; i += 3) x = (x * 31 + d.charCodeAt(i)) | 0; h = String(x); }
  return [p ? p.innerText : '', h, !!document.querySelector('[data-testid="stMain"] [data-testid="stVegaLiteChart"]')];
}"""


def watch(page, main) -> dict:
    """Sample the live panel every 0.1 s until the outcome shows: redraws per second and the time
    from pressing Train to the loss chart's first drawing."""
    t0 = time.perf_counter()
    texts, charts, first_chart, first_line, last = set(), set(), None, None, None
    while not main.get_by_text("Completed all").count():
        text, chart, has_chart = page.evaluate(SAMPLE)
        now = time.perf_counter() - t0
        if text and "batch" in text:
            texts.add(text)
            last = now
        if has_chart and chart:
            if first_chart is None:
                first_chart = now
            charts.add(chart)
            if first_line is None and len(charts) == 2:  # the empty chart, then its first line
                first_line = now
        page.wait_for_timeout(100)
    span = max((last or 0) - (first_chart or 0), 1e-9)
    return {"progress_per_s": len(texts) / span, "chart_per_s": len(charts) / span, "first_line_s": first_line}


def app_rate(page, url: str, epochs: int, ckpt: Path, detach: bool = False, stats: list | None = None) -> float:
    before = {r.id for r in list_runs(ckpt)[0]}
    main = page.locator('[data-testid="stMain"]')
    page.goto(url)
    # the sidebar's Train page (Home's quick starts start a job at once on a laptop)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Train", exact=True).click()
    main.get_by_role("heading", name="Train").wait_for(timeout=30_000)
    box = main.get_by_role("spinbutton", name="Epochs", exact=True)
    box.fill(str(epochs))
    box.press("Enter")
    page.wait_for_timeout(500)
    main.get_by_role("button", name="Train", exact=True).click()
    if detach:  # the job goes on with no page watching: what the live view costs, by difference
        main.get_by_text("images/s").first.wait_for(timeout=60_000)
        page.goto("about:blank")
        while not [r for r in list_runs(ckpt)[0] if r.id not in before and r.info.get("finished")]:
            time.sleep(0.2)
    elif stats is None:
        main.get_by_text("Completed all").wait_for(timeout=300_000)
    else:  # sampling the page costs the browser (and so training) a little: only with --redraws
        stats.append(watch(page, main))
    (new,) = [r for r in list_runs(ckpt)[0] if r.id not in before]
    return new.info["images_per_s"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--detach", action="store_true", help="leave the page once training starts")
    p.add_argument("--redraws", action="store_true",
                   help="sample the watching page every 0.1 s: redraws per second and the first loss line")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp)
        app, cli = [], []
        with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page() as page:
            stats: list[dict] | None = [] if args.redraws else None
            for _ in range(args.repeats):
                app.append(app_rate(page, url, args.epochs, ckpt, args.detach, stats))
                cli.append(cli_rate(args.epochs, ckpt))
                print(f"  app {app[-1]:.0f} img/s, command line {cli[-1]:.0f} img/s", flush=True)
    a, c = statistics.median(app), statistics.median(cli)
    print(f"lenet mnist-mini, {args.epochs} epochs, {'page closed' if args.detach else 'page watching'}"
          f"{' and sampled' if args.redraws else ''}, "
          f"{os.cpu_count()} cores, server threads "
          f"{os.environ.get('NNLAB_TORCH_THREADS', 'default')}: app {a:.0f} img/s, command line {c:.0f} img/s, "
          f"app/cli {100 * a / c:.0f}%")
    if stats:
        med = {k: statistics.median(s[k] for s in stats) for k in stats[0]}
        print(f"live panel while watching: progress redrawn {med['progress_per_s']:.2f}/s, loss chart redrawn "
              f"{med['chart_per_s']:.2f}/s, first loss line {med['first_line_s']:.2f} s after pressing Train")


if __name__ == "__main__":
    main()
