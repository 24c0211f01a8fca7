"""The builder's edit → table time on the server (issue 24: ≤ 200 ms), cold and warm.

One edit is what the Build page computes when a student changes a layer: the new spec's arithmetic
(nets.engine.netshape.analyse), the table with Anatomy's formulas from a meta-device build
(nets.inspect.netview.builder_rows) and the cost the Train page's budget reads (nets.server.costs.estimate).
Each edit changes the first weight layer's width, so no cache answers it. `--page` also times a whole
rerun of pages/build.py through Streamlit's AppTest after each edit (Streamlit's own cost included).

    python tests/bench_builder.py                 # warm: 20 edits per network, median and p95
    python tests/bench_builder.py --page          # plus the page's rerun
    python tests/bench_builder.py --cold          # a fresh process per network: its first edit, with and without the warm-up
    python tests/bench_builder.py --json
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NETWORKS = {  # (dataset, template or text)
    "lenet": ("mnist", "lenet"),
    "cnn5": ("cifar10", "cnn5"),
    "small-resnet": ("cifar10", "small-resnet"),
    "resnet18": ("cifar10", "resnet18"),
    "64 layers": ("mnist", "conv_8_k3_p1," + ",".join(["conv_8_k3_p1,batchnorm,relu"] * 20) + ",flatten,linear"),
}


def spec(dataset: str, what: str):
    from nets.engine import netbuild, netspec
    from nets.engine.catalog import input_shape
    return netbuild.template(what, input_shape(dataset)) if what in netbuild.TEMPLATES else netspec.from_text(what)


def edited(layers, k: int):
    """The spec with its first weight layer `k` channels or units wider: a new network every time."""
    i = next(i for i, d in enumerate(layers) if d["type"] in ("conv", "linear", "residual", "gated")
             and d.get("out"))
    return layers[:i] + (layers[i] | {"out": layers[i]["out"] + k},) + layers[i + 1:]


def one_edit(layers, dataset: str) -> float:
    from nets.engine import netshape
    from nets.engine.catalog import input_shape, num_classes
    from nets.engine.config import TrainConfig
    from nets.inspect import netview
    from nets.server.costs import estimate
    t = time.perf_counter()
    shape, classes = input_shape(dataset), num_classes(dataset)
    analysis = netshape.analyse(layers, shape, classes)
    netview.builder_rows(layers, shape, classes, analysis)
    estimate(TrainConfig(dataset=dataset, model="custom", layers=layers))
    return time.perf_counter() - t


def page_rerun(at, layers) -> float:
    at.session_state["builder_layers"] = layers
    t = time.perf_counter()
    at.run()
    return time.perf_counter() - t


def warm(edits: int, page: bool) -> dict:
    from streamlit.testing.v1 import AppTest
    one_edit(spec("mnist", "lenet"), "mnist")  # the process's first meta forward (the page's warm-up pays it)
    out = {}
    for name, (dataset, what) in NETWORKS.items():
        base = spec(dataset, what)
        times = [one_edit(edited(base, k + 1), dataset) for k in range(edits)]
        row = {"layers": len(base), "median_ms": 1e3 * statistics.median(times),
               "p95_ms": 1e3 * sorted(times)[max(0, round(0.95 * len(times)) - 1)]}
        if page:
            at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "build.py"),
                                   default_timeout=120)
            at.session_state["builder_dataset_v"] = dataset
            at.run()
            reruns = [page_rerun(at, edited(base, k + 1)) for k in range(edits)]
            assert not at.exception, at.exception
            row |= {"page_median_ms": 1e3 * statistics.median(reruns),
                    "page_p95_ms": 1e3 * sorted(reruns)[max(0, round(0.95 * len(reruns)) - 1)]}
        out[name] = row
    return out


def cold_child(name: str, warm_up: bool) -> None:
    dataset, what = NETWORKS[name]
    base = spec(dataset, what)
    if warm_up:  # what pages/_service.warm_up does once per server process
        from nets.server.costs import model_shape_cost
        model_shape_cost("lenet", (1, 28, 28), 10, ())
    print(json.dumps({"first_edit_ms": 1e3 * one_edit(edited(base, 1), dataset),
                      "second_edit_ms": 1e3 * one_edit(edited(base, 2), dataset)}))


def cold() -> dict:
    out = {}
    for name in NETWORKS:
        for warm_up in (False, True):
            got = subprocess.run([sys.executable, __file__, "--child", name] + (["--warm-up"] if warm_up else []),
                                 capture_output=True, text=True, check=True)
            out[f"{name}{' (after warm-up)' if warm_up else ''}"] = json.loads(got.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--edits", type=int, default=20)
    p.add_argument("--page", action="store_true")
    p.add_argument("--cold", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child")
    p.add_argument("--warm-up", action="store_true")
    a = p.parse_args()
    if a.child:
        return cold_child(a.child, a.warm_up)
    import logging

    import torch
    torch.set_num_threads(1)
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's "no ScriptRunContext" noise
    result = {"warm": warm(a.edits, a.page)} | ({"cold": cold()} if a.cold else {})
    if a.json:
        print(json.dumps(result, indent=1))
        return
    for name, row in result["warm"].items():
        page = f" · page rerun median {row['page_median_ms']:.0f} ms, p95 {row['page_p95_ms']:.0f} ms" if a.page else ""
        print(f"{name:>13} ({row['layers']:2d} layers): edit median {row['median_ms']:6.1f} ms, "
              f"p95 {row['p95_ms']:6.1f} ms{page}")
    for name, row in result.get("cold", {}).items():
        print(f"cold {name:>32}: first edit {row['first_edit_ms']:7.1f} ms, second {row['second_edit_ms']:6.1f} ms")


if __name__ == "__main__":
    main()
