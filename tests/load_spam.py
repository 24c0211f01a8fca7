"""One student spams the job service while ten others train; prints what was refused and each other
student's wait (submit → start) and total time (submit → end). A script, not a pytest test:

    python tests/load_spam.py                      # worker processes, job cap 1
    python tests/load_spam.py --cap 2 --clicks 30

The spammer goes first, the worst case for the others: 30 Train clicks of a job several times
longer than theirs, the 4-billion-parameter network of issue 19, a four-configuration group, and
(with nets.server.upload's owner-aware uploads) a flood of small zips. Then each of ten students
submits one small job on the bundled mnist-mini. Runs, data and uploads go to a temporary folder.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nets.engine.config import ConfigError, TrainConfig, four_configs  # noqa: E402
from nets.server.jobs import JobManager  # noqa: E402

SMALL = TrainConfig(model="mlp", hidden=(32,), train_per_class=50, epochs=1, batch_size=32)
SPAM = TrainConfig(model="lenet", train_per_class=600, epochs=3, batch_size=32)
HUGE = TrainConfig(model="mlp", hidden=(16384,) * 16, dataset="cifar10")


def png_zip(images: int = 4) -> bytes:
    """A small valid zip of two classes of PNGs (what an upload flood sends again and again)."""
    from PIL import Image
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for c in ("cats", "dogs"):
            for i in range(images):
                png = io.BytesIO()
                Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(png, format="PNG")
                z.writestr(f"{c}/{i}.png", png.getvalue())
    return buf.getvalue()


def try_submit(what, *args, **kwargs) -> bool:
    try:
        what(*args, **kwargs)
        return True
    except ConfigError as e:
        try_submit.reasons.add(str(e).split(":")[0][:70])
        return False


try_submit.reasons = set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=int, default=1, help="jobs running at once (NNLAB_MAX_JOBS)")
    ap.add_argument("--clicks", type=int, default=30, help="the spammer's Train clicks")
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--uploads", type=int, default=20, help="the spammer's uploads")
    ap.add_argument("--backend", default="process", choices=("process", "thread"))
    ap.add_argument("--no-huge", action="store_true",
                    help="leave out the huge network (to compare with code that would queue and start it)")
    ap.add_argument("--spam-epochs", type=int, default=SPAM.epochs, help="epochs of each of the spammer's jobs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnlab-load-") as tmp:
        ckpt, data = Path(tmp) / "checkpoints", Path(tmp) / "data"
        data.mkdir()
        jobs = JobManager(ckpt, data, max_running=args.cap, backend=args.backend)
        if jobs.pool is not None:
            jobs.pool.start()
            while not all(w["ready"] for w in jobs.workers()):  # warm workers, as the app starts them
                time.sleep(0.05)
        try:
            run(jobs, data, args)
        finally:
            jobs.close()


def run(jobs: JobManager, data: Path, args) -> None:
    spammer = "name:mallory"
    t0 = time.time()
    spam = replace(SPAM, epochs=args.spam_epochs)
    clicks = sum(try_submit(jobs.submit, spam, owner=spammer) for _ in range(args.clicks))
    huge = None if args.no_huge else try_submit(jobs.submit, HUGE, owner=spammer)
    group = try_submit(jobs.submit_group, four_configs(SMALL), owner=spammer)
    uploads = None
    try:
        from nets.server.upload import UploadError, save_upload
        payload, uploads = png_zip(), 0
        for i in range(args.uploads):
            try:
                save_upload(payload, data, f"flood{i}.zip", spammer)
                uploads += 1
            except UploadError as e:
                try_submit.reasons.add(str(e)[:70])
    except ImportError:
        pass
    spam_s = time.time() - t0
    others = {f"name:student{i:02d}": jobs.submit(SMALL, owner=f"name:student{i:02d}") for i in range(args.students)}
    views = {o: jobs.wait(j.id, timeout=1800) for o, j in others.items()}
    waits = {o: views[o].started - others[o].created for o in others}
    totals = {o: views[o].ended - others[o].created for o in others}
    spam_views = [v for v in jobs.views() if v.owner == spammer]
    for v in spam_views:
        if v.active:
            jobs.stop(v.id)

    print(f"backend {args.backend}, job cap {args.cap}, the spammer's submissions took {spam_s:.2f} s")
    huge_text = "not sent" if huge is None else "ACCEPTED" if huge else "refused"
    upload_text = (f"uploads {uploads} of {args.uploads} accepted" if uploads is not None
                   else "uploads: no owner-aware API")
    print(f"spammer: {args.clicks} Train clicks, {clicks} accepted, {args.clicks - clicks} refused; "
          f"4-billion-parameter network {huge_text}; four-configuration group {'ACCEPTED' if group else 'refused'}; "
          f"{upload_text}")
    print("refusal reasons:", "; ".join(sorted(try_submit.reasons)))
    done = sum(v.status == "completed" for v in views.values())
    print(f"others: {done} of {len(others)} completed")
    print("student     wait s  total s  status")
    for o in others:
        print(f"{o[5:]:10s} {waits[o]:7.1f} {totals[o]:8.1f}  {views[o].status}")
    print(f"wait: median {statistics.median(waits.values()):.1f} s, max {max(waits.values()):.1f} s; "
          f"total: median {statistics.median(totals.values()):.1f} s, max {max(totals.values()):.1f} s")
    spam_ended = [v.ended - v.started for v in spam_views if v.started and v.ended and v.status == "completed"]
    if spam_ended:
        print(f"one of the spammer's jobs trains for about {statistics.median(spam_ended):.1f} s")
    spam_started = sorted(v.started for v in spam_views if v.started)
    last_other = max(v.started for v in views.values())
    print(f"the spammer's jobs started before the last other student's: "
          f"{sum(t < last_other for t in spam_started)} of {len(spam_views)}")


if __name__ == "__main__":
    main()
