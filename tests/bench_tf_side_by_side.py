"""TensorFlow Playground and this app's Playground side by side (issue 22): epochs in S seconds of
Play, the test loss shown after them, and visible updates per second, in ONE headless Chromium at
1366×768, both apps served locally (prints figures; a script, not a test).

Two settings, each set through the app's own link (TF: its URL hash, keys from its src/state.ts;
this app: nets/playground/link.encode of a PlaygroundConfig):
  circle  circle, inputs x1 x2, hidden 4,2, tanh, lr 0.03, batch 10, noise 0, 50 % train (TF's defaults)
  spiral  spiral, 7 inputs (x1 x2 x1² x2² x1x2 sin x1 sin x2), six hidden layers of 8, otherwise TF's defaults

One run: open the page, wait until it is drawn (and, for this app, Streamlit's run has finished),
install a small counter in the page, press Play (TF: #play-pause-button; this app: the button named
^\\W*Play$, not the "Predict, then press Play" popover). The counter takes t0 from the click event
itself (a capturing listener), reads the epoch counter and the test loss *in the page* at t0 + S
seconds (a setTimeout: no Playwright round trip in the measured time; the read time is printed), and
counts visible updates between t0 and t0 + S, checked once per frame (requestAnimationFrame, ~60/s):
  text/s    frames in which the epoch counter or the test loss shown changed (TF: #iter-number,
            #loss-test; this app: the "Epoch" and "Test loss" metrics)
  map/s     frames in which the heat map changed (TF: a checksum of the pixels of its #heatmap canvas;
            this app: the src attribute of the first picture after the "Test loss" metric, which is
            the heat map; a canvas there is read with toDataURL)
  50ms/s    epoch, loss and heat map together sampled every 50 ms (setInterval), counting samples that
            differ from the last: at most 20/s, the brief's "sample every 50 ms" figure
and the time from the click to the first change (first). TF reads #iter-number ("000,459") and
#loss-test; this app reads the metrics labelled "Epoch" and "Test loss" (data-testid stMetric; if the
page ever draws them otherwise, a regex over the text of the page, in whichever frame shows them).
Runs alternate TF, app, TF, app … per setting; the medians per app and setting end the output,
with a Markdown table for the docs. One unmeasured warm-up load of each app comes first (the app's
first page view in a fresh server imports torch), and afterwards an unmeasured pass takes one
screenshot per app and setting, 3 s into Play, into test-artifacts/i22-tf-<app>-<setting>.png.
Chromium gets --host-resolver-rules that fail every host but 127.0.0.1 at once (TF's page asks
Google for fonts and analytics; nothing here can reach them, and waiting for DNS would stall it).

TF Playground was built from its own repository, offline except for npm's registry:
    fetch tool, source github:tensorflow/playground -> /work/.mirror/tensorflow+playground/repo
      (HEAD 02469bd3751764b20486015d4202b792af5362a6, 2022-06-06, "Merge pull request #169")
    mkdir -p /work/tfplayground
    git --git-dir=/work/.mirror/tensorflow+playground/repo archive HEAD | tar -x -C /work/tfplayground
    cd /work/tfplayground && npm install && npm run build     # node 20.20.2, npm 11.19.1
  It built as it is (typescript 2.9, browserify + tsify, uglify-js 2.8 from its package-lock): no fix
  was needed. dist/ holds index.html, bundle.js, bundle.css, lib.js, analytics.js; this script serves
  it with `python -m http.server --bind 127.0.0.1 <free port> -d <--tf-dir>` (its `npm run serve` is
  `npx serve dist/`, the same files).

Commands (from the repository root, with .venv activated):
    nice -n 10 python tests/bench_tf_side_by_side.py --repeats 3 --json /tmp/i22-tf.json
    python tests/bench_tf_side_by_side.py --repeats 1 --seconds 5 --app-url http://127.0.0.1:8501
Options: --repeats R (3), --seconds S (10), --json PATH, --app-url URL (an app already running; else
this script starts one with tests/browser.py's streamlit_server), --tf-dir DIR (/work/tfplayground/dist),
--tf-url URL (a TF Playground already served; else served from --tf-dir), --settings circle,spiral,
--shots DIR (test-artifacts; "" for none).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from browser import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, settle, streamlit_server  # noqa: E402

W, H = 1366, 768
SEVEN = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin x1", "sin x2")
# this app's feature name -> TF's hash key (TF's x is x1, its y is x2)
TF_INPUT = {"x1": "x", "x2": "y", "x1^2": "xSquared", "x2^2": "ySquared", "x1x2": "xTimesY",
            "sin x1": "sinX", "sin x2": "sinY"}
TF_ALL_INPUTS = ("x", "y", "xTimesY", "xSquared", "ySquared", "cosX", "sinX", "cosY", "sinY")
SETTINGS = {
    "circle": dict(dataset="circle", features=("x1", "x2"), hidden=(4, 2)),
    "spiral": dict(dataset="spiral", features=SEVEN, hidden=(8,) * 6),
}
LABEL = {"circle": "circle, x1 x2, 4-2", "spiral": "spiral, 7 inputs, six layers of 8"}


def tf_hash(setting: dict) -> str:
    """TF Playground's URL hash for a setting; everything else at TF's defaults, spelled out."""
    inputs = {TF_INPUT[f] for f in setting["features"]}
    keys = {"activation": "tanh", "batchSize": 10, "dataset": setting["dataset"], "regDataset": "reg-plane",
            "learningRate": 0.03, "regularizationRate": 0, "noise": 0,
            "networkShape": ",".join(map(str, setting["hidden"])), "percTrainData": 50,
            "regularization": "none", "problem": "classification", "showTestData": "false",
            "discretize": "false", "initZero": "false", "collectStats": "false", "hideText": "false"}
    keys |= {k: str(k in inputs).lower() for k in TF_ALL_INPUTS}
    return "#" + "&".join(f"{k}={v}" for k, v in keys.items())


def app_link(base: str, setting: dict) -> str:
    """This app's Playground link for a setting, through its own encoder (the other fields: defaults,
    which are TF's: tanh, lr 0.03, batch 10, noise 0, 50 % train, squared loss)."""
    from nets.playground.link import DEFAULTS, encode
    cfg = DEFAULTS.changed(**setting)
    return encode(cfg, set(), base.rstrip("/") + "/playground")


# The counter, installed in the frame that shows the epoch. mode "tf" or "app". It arms on the next
# click anywhere in the top document (capture phase: before the page's own handlers run).
COUNTER_JS = r"""
([mode, seconds]) => {
  const num = s => s == null ? null : s.replace(/\s+/g, ' ').trim();
  const found = {};
  function deep(sel) {  // the first match in the document or an open shadow root, looked up once while present
    if (found[sel] && found[sel].isConnected) return found[sel];
    const stack = [document];
    while (stack.length) {
      const r = stack.pop(), f = r.querySelector(sel);
      if (f) return (found[sel] = f);
      for (const el of r.querySelectorAll('*')) if (el.shadowRoot) stack.push(el.shadowRoot);
    }
    return null;
  }
  function texts() {
    if (mode === 'tf') {
      const e = document.querySelector('#iter-number'), l = document.querySelector('#loss-test');
      return {epoch: num(e && e.textContent), test: num(l && l.textContent), after: null};
    }
    // this app: the live panel's numbers, drawn by the browser in the component's shadow root
    const panel = deep('[data-testid="pg-epoch"]'), loss = deep('[data-testid="pg-test-loss"]');
    const epoch = panel && num(panel.textContent), test = loss && num(loss.textContent), after = null;
    return {epoch, test, after};
  }
  function map(after) {
    if (mode === 'tf') {  // TF's heat map is a 100x100 canvas: a checksum of its pixels
      const c = document.querySelector('#heatmap canvas');
      if (!c) return '';
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 0;
      for (let i = 0; i < d.length; i += 3) h = (h * 31 + d[i]) | 0;
      return String(h);
    }
    // this app: the panel counts its own redraws of the heat map (data-draws; reading the canvas back
    // each frame would cost the app more than it costs TF)
    const root = deep('[data-draws]');
    return root ? root.dataset.draws : '';
  }
  function read() { const t = texts(); return {epoch: t.epoch, test: t.test, map: map(t.after)}; }
  const tsig = r => r.epoch + '|' + r.test, all = r => tsig(r) + '|' + r.map;
  const b = window.__bench = {t0: null, done: false, text: 0, maps: 0, sampled: 0, samples50: 0,
                              first: null, result: null, start: read()};
  let lastT = tsig(b.start), lastM = b.start.map, last50 = all(b.start);
  function frame() {
    if (b.done) return;
    if (b.t0 !== null) {
      const r = read(), t = tsig(r);
      if (t !== lastT) { lastT = t; b.text++; if (b.first === null) b.first = (performance.now() - b.t0) / 1000; }
      if (r.map !== lastM) { lastM = r.map; b.maps++; }
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  let top = document;
  try { top = window.top.document; } catch (e) {}
  top.addEventListener('click', () => {
    if (b.t0 !== null) return;
    b.t0 = performance.now();
    const iv = setInterval(() => {
      const s = all(read());
      b.samples50++;
      if (s !== last50) { last50 = s; b.sampled++; }
    }, 50);
    setTimeout(() => {
      const at = (performance.now() - b.t0) / 1000, r = read();
      clearInterval(iv);
      b.done = true;
      b.result = {epoch: r.epoch, test: r.test, read_at_s: at};
    }, seconds * 1000);
  }, {capture: true});
  return all(b.start);
}
"""


def parse_epoch(text):
    if text is None:
        return None
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits else None


def parse_loss(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def counter_frame(page, mode: str, timeout: float = 60):
    """The frame that shows the epoch (this app: normally the page itself), once it shows one."""
    deadline = time.time() + timeout
    probe = ("() => /Epoch/.test(document.body ? document.body.innerText : '') || [...document.querySelectorAll('*')]"
             ".some(e => e.shadowRoot && e.shadowRoot.querySelector('[data-testid=\"pg-epoch\"]'))")
    while time.time() < deadline:
        if mode == "tf":
            return page.main_frame
        for fr in page.frames:
            try:
                if fr.evaluate(probe):
                    return fr
            except Exception:
                pass
        time.sleep(0.2)
    raise RuntimeError("no frame shows an epoch counter")


def open_tf(page, tf_url: str, setting: dict):
    page.goto("about:blank")
    page.goto(tf_url + "/index.html" + tf_hash(setting))
    page.wait_for_function("() => (document.querySelector('#iter-number') || {}).textContent === '000,000'",
                           timeout=60_000)
    page.wait_for_timeout(500)  # TF draws its first boundary and the network after load
    return page.locator("#play-pause-button")


def open_app(page, app_url: str, setting: dict):
    page.goto("about:blank")
    page.goto(app_link(app_url, setting))
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Learning rate").first.wait_for(timeout=90_000)
    settle(page)
    main.get_by_text("Test loss").first.wait_for(timeout=60_000)
    settle(page)
    return main.get_by_role("button", name=re.compile(r"^\W*Play$")).first


def settings_shown(page, app: str, setting: dict) -> str | None:
    """Why the page does not show `setting` (read off what it draws), or None. TF: its layer count,
    its active input nodes and its hidden neurons; this app: "<n> hidden layers", the Dataset menu's
    value and how many X₁/X₂ feature boxes are ticked."""
    if app == "tf":
        got = page.evaluate("""() => ({layers: +document.querySelector('#num-layers').textContent,
            active: document.querySelectorAll('#network g.node.active').length,
            inputs: document.querySelectorAll('#network g.node.active, #network g.node.inactive').length,
            nodes: document.querySelectorAll('#network g.node').length})""")
        want = {"layers": len(setting["hidden"]), "active": len(setting["features"]),
                "hidden": sum(setting["hidden"])}
        have = {"layers": got["layers"], "active": got["active"], "hidden": got["nodes"] - got["inputs"]}
        return None if have == want else f"TF shows {have}, wanted {want}"
    got = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        const box = [...main.querySelectorAll('[data-testid="stSelectbox"]')].find(e => /^Dataset/.test(e.innerText.trim()));
        const inputs = [...main.querySelectorAll('[data-testid="stCheckbox"]')].filter(
            e => /X₁|X₂/.test(e.innerText) && e.querySelector('input:checked')).length;
        const m = main.innerText.match(/(\\d+) hidden layers?/);
        return {dataset: box ? box.querySelector('input').value.toLowerCase() : null, inputs,
                layers: m ? +m[1] : null};
    }""")
    want = {"dataset": setting["dataset"], "inputs": len(setting["features"]), "layers": len(setting["hidden"])}
    return None if got == want else f"this app shows {got}, wanted {want}"


def run_one(page, app: str, urls: dict, name: str, seconds: float) -> dict:
    button = (open_tf if app == "tf" else open_app)(page, urls[app], SETTINGS[name])
    shown = settings_shown(page, app, SETTINGS[name])
    if shown:
        print("WARNING:", shown, flush=True)
    frame = counter_frame(page, "tf" if app == "tf" else "app")
    frame.evaluate(COUNTER_JS, ["tf" if app == "tf" else "app", seconds])
    load = os.getloadavg()[0]
    button.click()
    frame.wait_for_function("() => window.__bench && window.__bench.done", timeout=(seconds + 60) * 1000)
    b = frame.evaluate("() => window.__bench")
    r = b["result"]
    out = {"app": app, "setting": name, "epochs": parse_epoch(r["epoch"]), "test_loss": parse_loss(r["test"]),
           "epoch_text": r["epoch"], "test_text": r["test"], "read_at_s": round(r["read_at_s"], 3),
           "text_per_s": round(b["text"] / seconds, 2), "map_per_s": round(b["maps"] / seconds, 2), "sampled50_per_s": round(b["sampled"] / seconds, 2),
           "samples50": b["samples50"], "first_update_s": None if b["first"] is None else round(b["first"], 3),
           "start_epoch": parse_epoch(b["start"]["epoch"]), "load1": round(load, 2),
           "settings_problem": shown}
    if app == "tf":
        m = re.search(r"seed=([^&]*)", page.evaluate("() => location.hash"))
        out["tf_seed"] = m.group(1) if m else None
    page.goto("about:blank")  # stops the page's training before the other app runs
    return out


def screenshot(page, app: str, urls: dict, name: str, path: Path) -> None:
    button = (open_tf if app == "tf" else open_app)(page, urls[app], SETTINGS[name])
    button.click()
    page.wait_for_timeout(3000)
    page.screenshot(path=str(path))
    page.goto("about:blank")


@contextmanager
def http_server(directory: str):
    if not (Path(directory) / "index.html").exists():
        raise SystemExit(f"{directory}/index.html missing: build TF Playground first (see this script's docstring)")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port), "-d", directory],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/index.html", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("http.server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def one_chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"])
        try:
            yield browser.new_page(viewport={"width": W, "height": H})
        finally:
            browser.close()


def app_version() -> str:
    """The commit the app runs from, and the Playground's files that differ from it (the lead may be
    changing them while this runs)."""
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--", "nets/playground", "pages/playground.py", "pages/_playground_form.py")
    return git("rev-parse", "--short", "HEAD") + (f" + uncommitted: {' '.join(l[3:] for l in dirty.splitlines())}"
                                                   if dirty else "")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def med(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--json")
    ap.add_argument("--app-url")
    ap.add_argument("--tf-dir", default="/work/tfplayground/dist")
    ap.add_argument("--tf-url")
    ap.add_argument("--settings", default="circle,spiral")
    ap.add_argument("--shots", default=str(ROOT / "test-artifacts"))
    a = ap.parse_args(argv)
    names = [n for n in a.settings.split(",") if n]
    before, version = uptime(), app_version()
    print("before:", before, flush=True)
    print("this app:", version if not a.app_url else f"{a.app_url} (its own code)", flush=True)
    rows = []
    with ExitStack() as stack:
        urls = {"tf": a.tf_url or stack.enter_context(http_server(a.tf_dir)),
                "app": a.app_url or stack.enter_context(streamlit_server())}
        page = stack.enter_context(one_chromium())
        for app in ("tf", "app"):  # unmeasured warm-up: the app's first view imports torch, fills caches
            (open_tf if app == "tf" else open_app)(page, urls[app], SETTINGS[names[0]])
        page.goto("about:blank")
        print(f"TF Playground {urls['tf']}, this app {urls['app']}; {a.seconds:g} s of Play per run, "
              f"{a.repeats} repeats, {W}x{H}", flush=True)
        print(f"{'app':4} {'setting':7} {'rep':>3} {'epochs':>7} {'test':>6} {'text/s':>6} {'map/s':>6} {'50ms/s':>6} "
              f"{'first':>6} {'read@':>6} {'load1':>5}", flush=True)
        for name in names:
            for rep in range(a.repeats):
                for app in ("tf", "app"):
                    r = run_one(page, app, urls, name, a.seconds)
                    r["repeat"] = rep
                    rows.append(r)
                    print(f"{app:4} {name:7} {rep:>3} {fmt(r['epochs'], 'd'):>7} {fmt(r['test_loss'], '.3f'):>6} "
                          f"{r['text_per_s']:>6.1f} {r['map_per_s']:>6.1f} {r['sampled50_per_s']:>6.1f} {fmt(r['first_update_s'], '.2f'):>6} "
                          f"{r['read_at_s']:>6.2f} {r['load1']:>5.2f}"
                          + (f"  seed {r['tf_seed']}" if app == "tf" else ""), flush=True)
        shots = []
        if a.shots:
            Path(a.shots).mkdir(parents=True, exist_ok=True)
            for name in names:
                for app in ("tf", "app"):
                    path = Path(a.shots) / f"i22-tf-{app}-{name}.png"
                    screenshot(page, app, urls, name, path)
                    shots.append(str(path))
    after = uptime()
    print("after:", after)
    summary = []
    for name in names:
        for app in ("tf", "app"):
            rs = [r for r in rows if r["app"] == app and r["setting"] == name]
            summary.append({"app": app, "setting": name, "runs": len(rs), "epochs": med(rs, "epochs"),
                            "test_loss": med(rs, "test_loss"), "text_per_s": med(rs, "text_per_s"),
                            "map_per_s": med(rs, "map_per_s"),
                            "sampled50_per_s": med(rs, "sampled50_per_s"), "first_update_s": med(rs, "first_update_s")})
    print(f"\nMedians of {a.repeats} ({a.seconds:g} s of Play each):")
    who = {"tf": "TF Playground", "app": "this app"}
    print(f"\n| | epochs in {a.seconds:g} s of Play | test loss after {a.seconds:g} s | epoch/loss updates/s "
          f"| heat-map updates/s | changes seen in 50 ms samples /s | first update after Play |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for s in summary:
        print(f"| {who[s['app']]} ({LABEL[s['setting']]}) | {fmt(s['epochs'], 'g')} | {fmt(s['test_loss'], '.3f')} "
              f"| {fmt(s['text_per_s'], '.1f')} | {fmt(s['map_per_s'], '.1f')} | {fmt(s['sampled50_per_s'], '.1f')} | {fmt(s['first_update_s'], '.2f')} s |")
    if shots:
        print("\nscreenshots:", *shots)
    if a.json:
        Path(a.json).write_text(json.dumps({"before": before, "after": after, "app_version": version,
                                            "seconds": a.seconds,
                                            "repeats": a.repeats, "viewport": [W, H], "runs": rows,
                                            "medians": summary, "screenshots": shots}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
