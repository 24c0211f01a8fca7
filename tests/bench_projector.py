"""Feature projector costs on this machine: features of every test image per model, PCA, UMAP, t-SNE, kNN purity.

Measures, on the CPU with torch's default threads:
- features of the 10,000 test images for mlp, lenet, cnn5 and resnet18 (untrained weights: the cost does
  not depend on them), through nets.runs.features_cache.run_features as the page calls it: computed and
  stored (first) and read back (second);
- PCA (NumPy), UMAP (umap-learn, exact kNN graph: first call in the process, which pays the import and
  numba's compilation, and a second call), t-SNE (openTSNE, n_jobs=1) and the kNN purity (k=10) of the
  resnet18 features (10,000 × 512).

    python ../shared/datasets/make.py ~/realdata       # once: real MNIST in torchvision's layout
    nice -n 10 python tests/bench_projector.py --data ~/realdata
    nice -n 10 python tests/bench_projector.py --data ~/realdata --json       # one JSON object last
    nice -n 10 python tests/bench_projector.py --quick                        # mnist-mini (bundled), 2,000 points
    nice -n 10 python tests/bench_projector.py --data ~/realdata --skip tsne  # leave out a method
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nets.engine.config import TrainConfig  # noqa: E402
from nets.engine.data import load_dataset  # noqa: E402
from nets.engine.models import build_model  # noqa: E402
from nets.inspect import projection  # noqa: E402
from nets.runs import create_run, get_run, save_best  # noqa: E402
from nets.runs.features_cache import features_path, run_features  # noqa: E402

MODELS = ("mlp", "lenet", "cnn5", "resnet18")


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def features_for(name: str, data, root: Path):
    cfg = TrainConfig.from_dict({"dataset": data.name, "model": name, "name": f"bench-{name}"})
    model = build_model(name, list(data.input_shape), data.num_classes, **cfg.model_kwargs())
    info = {"classes": data.classes, "mean": data.mean, "std": data.std, "input_shape": list(data.input_shape),
            "num_classes": data.num_classes, "status": "completed"}
    run = create_run(root, cfg, info, run_id=f"bench-{name}")
    torch.manual_seed(0)
    save_best(run, model.state_dict(), best={"epoch": 1, "accuracy": 0.1})
    run = get_run(root, run.id)
    f, first = timed(lambda: run_features(run, data=data, model=model))
    _, second = timed(lambda: run_features(get_run(root, run.id), data=data))
    return f, {"model": name, "images": len(f), "dim": int(f.x.shape[1]), "first_s": round(first, 2),
               "stored_s": round(second, 3), "file_mb": round(features_path(run).stat().st_size / 2**20, 1)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.expanduser("~/realdata"), help="folder with MNIST in torchvision's layout")
    ap.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist or cifar10 (with --data)")
    ap.add_argument("--quick", action="store_true", help="mnist-mini (bundled) and 2,000 points")
    ap.add_argument("--skip", nargs="*", default=[], help="leave out: features, pca, umap, tsne, purity")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    name = "mnist-mini" if args.quick else args.dataset
    data = load_dataset(name, args.data, download=False)
    n = min(2000, len(data.x_test)) if args.quick else len(data.x_test)
    data.x_test, data.y_test = data.x_test[:n], data.y_test[:n]
    out = {"dataset": name, "points": n, "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
           "load_before": [round(v, 2) for v in os.getloadavg()], "features": [], "projection": {}}
    x = labels = None
    with tempfile.TemporaryDirectory() as tmp:
        for m in (() if "features" in args.skip else MODELS):
            f, row = features_for(m, data, Path(tmp))
            out["features"].append(row)
            print(f"features {m:9s} {row['images']} images × {row['dim']:4d}: {row['first_s']:6.2f} s computed and "
                  f"stored, {row['stored_s']:.3f} s read back, {row['file_mb']} MB", flush=True)
            x, labels = f.x, f.labels
    if x is None or x.shape[1] != 512:  # the resnet18's 512 features, or stand-ins of that size
        rng = np.random.default_rng(0)
        labels = data.y_test.numpy()
        x = (rng.normal(size=(10, 512))[labels] + rng.normal(size=(n, 512))).astype(np.float32)
    print(f"projecting {x.shape[0]} × {x.shape[1]} features", flush=True)
    proj = out["projection"]
    if "pca" not in args.skip:
        _, proj["pca_s"] = timed(lambda: projection.pca(x))
        print(f"PCA        {proj['pca_s']:6.2f} s", flush=True)
    if "purity" not in args.skip:
        purity, proj["purity_s"] = timed(lambda: projection.knn_purity(x, labels, 10))
        proj["purity"] = round(purity, 4)
        print(f"kNN purity {proj['purity_s']:6.2f} s (k=10: {purity:.3f})", flush=True)
    if "umap" not in args.skip and projection.available("umap"):
        y, proj["umap_first_s"] = timed(lambda: projection.umap(x, 15, 0.1, seed=0))
        _, proj["umap_again_s"] = timed(lambda: projection.umap(x, 15, 0.1, seed=0))
        proj["umap_2d_purity"] = round(projection.knn_purity(y, labels, 10), 4)
        print(f"UMAP       {proj['umap_first_s']:6.2f} s first in the process (import and compilation included), "
              f"{proj['umap_again_s']:.2f} s again; 2-D purity {proj['umap_2d_purity']:.3f}", flush=True)
    if "tsne" not in args.skip and projection.available("tsne"):
        y, proj["tsne_s"] = timed(lambda: projection.tsne(x, 30, seed=0))
        proj["tsne_2d_purity"] = round(projection.knn_purity(y, labels, 10), 4)
        print(f"t-SNE      {proj['tsne_s']:6.2f} s (n_jobs=1); 2-D purity {proj['tsne_2d_purity']:.3f}", flush=True)
    proj.update({k: round(v, 2) for k, v in proj.items() if k.endswith("_s")})
    out["load_after"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average before {out['load_before']}, after {out['load_after']} ({out['cpus']} CPUs, "
          f"torch threads {out['torch_threads']})")
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
