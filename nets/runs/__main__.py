"""The lecturer's command line for the runs folder:

    python -m nets runs rebuild [--checkpoints DIR]          the index again from the run folders
    python -m nets runs recover [--checkpoints DIR]          what start-up does after a killed process
    python -m nets runs clean --older-than 7 [--status failed ...] [--dry-run]
    python -m nets runs list [--text T] [--status S] [--limit N]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from nets import settings
from nets.runs import UNFINISHED, RunFilter, clean_up, clean_up_candidates, disk_usage, index, recover
from nets.runs.access import ADMIN
from nets.runs.manage import size_text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m nets runs", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["rebuild", "recover", "clean", "list"])
    p.add_argument("--checkpoints", default=str(settings.get("NNLAB_CHECKPOINTS")), help="the runs folder (default: %(default)s)")
    p.add_argument("--older-than", type=float, default=7, metavar="DAYS", help="clean: runs created before (0: any age)")
    p.add_argument("--status", nargs="+", default=list(UNFINISHED), help="clean: which statuses (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="clean: only say what would go")
    p.add_argument("--text", default="", help="list: part of a name or id")
    p.add_argument("--limit", type=int, default=20)
    a = p.parse_args(argv)
    root = a.checkpoints
    if a.command == "rebuild":
        t = time.perf_counter()
        n = index(root).rebuild()
        print(f"Indexed {n:,} runs in {time.perf_counter() - t:.2f} s.")
    elif a.command == "recover":
        got = recover(root)
        print(json.dumps(got.__dict__, indent=1))
    elif a.command == "clean":
        if a.dry_run:
            rows = clean_up_candidates(root, a.older_than, a.status)
            print(f"Would remove {len(rows)} run(s), {size_text(sum(r.bytes for r in rows))}:")
            for r in rows:
                print(f"  {r.created}  {r.status:<11} {r.id}")
        else:
            report = clean_up(root, ADMIN, a.older_than, a.status)
            print(report.message())
        print(f"The runs folder now uses {size_text(disk_usage(root, fresh=True))}.")
    else:
        rows = index(root).query(RunFilter(text=a.text), limit=a.limit)
        for r in rows:
            acc = "" if r.accuracy is None else f"{r.accuracy:.1%}"
            print(f"{r.created}  {r.status:<11} {acc:>6}  {r.owner or '-':<12} {r.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
