"""Measurements of the NumPy network, run from the command line.

    python -m nets scratch-bench [--dataset fashion-mnist --data-dir DIR --epochs 3]
        time per epoch of the NumPy network and of its PyTorch twin, same weights, same batches,
        one process, the two alternating epoch by epoch; medians.
    python -m nets scratch --dataset fashion-mnist --data-dir DIR --epochs 100 [--stop-at-test-acc 0.885]
        the coursework's setting: per-epoch validation and test accuracy, then the final test accuracy.
    python -m nets scratch --bench ...   is the first one.

PyTorch runs with one intra-op thread; NumPy uses its BLAS as configured (OPENBLAS_NUM_THREADS, or
--blas-threads N); both are printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

from nets.parse import ParseError, int_list
from nets.scratch.network import (DEFAULT_HIDDEN, HIDDEN_ACTIVATIONS, INITS, Network, ScratchData, epoch_order, fit,
                                  load_scratch_data)
from nets.scratch.threads import numpy_blas_threads


def _whole_numbers(what: str):
    """An argparse type: nets.parse.int_list, its message shown as argparse's error."""
    def read(text: str) -> tuple[int, ...]:
        try:
            return int_list(text, what)
        except ParseError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return read


def _common_args(p: argparse.ArgumentParser, epochs: int) -> None:
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-dir", default=None, help="folder holding FashionMNIST/raw etc.")
    p.add_argument("--hidden", default=DEFAULT_HIDDEN, type=_whole_numbers("hidden sizes"), metavar="N,N")
    p.add_argument("--activation", default="relu", choices=list(HIDDEN_ACTIVATIONS))
    p.add_argument("--init", default="normal", choices=INITS)
    p.add_argument("--scale", default="he", help="he, xavier or a standard deviation")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blas-threads", type=int, default=None, help="NumPy's BLAS threads (default: as configured)")


def _network(args, data: ScratchData) -> Network:
    sizes = (data.x_train.shape[1], *args.hidden, len(data.classes))
    return Network(sizes, args.activation, args.init, args.scale, seed=args.seed)


def blas_threads() -> str:
    count = numpy_blas_threads()
    return f"{count if count is not None else 'unknown'} BLAS thread(s)"


def time_epochs(net: Network, data: ScratchData, epochs: int, lr: float, batch_size: int,
                seed: int = 0) -> dict:
    """Seconds per epoch of the NumPy network and of its PyTorch twin, which starts from the same
    weights and takes the same batches; the two alternate so that a busy machine hurts both alike."""
    import torch
    from nets.scratch.twin import as_tensors, torch_twin, twin_evaluate, twin_sgd_epoch
    torch.set_num_threads(1)
    model = torch_twin(net)
    x, y = as_tensors(data.x_train, data.y_train, model)
    numpy_s, torch_s = [], []
    for epoch in range(1, epochs + 1):
        order = epoch_order(seed, epoch, len(data.x_train))
        t = time.perf_counter()
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            net.sgd_step(data.x_train[idx], data.y_train[idx], lr)
        numpy_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        twin_sgd_epoch(model, x, y, order, lr, batch_size)
        torch_s.append(time.perf_counter() - t)
    n, t = statistics.median(numpy_s), statistics.median(torch_s)
    val_loss_torch = twin_evaluate(model, *as_tensors(data.x_val, data.y_val, model))[0]
    return {"numpy_s": n, "torch_s": t, "ratio": n / t, "epochs": epochs,
            "val_loss_numpy": net.evaluate(data.x_val, data.y_val)[0], "val_loss_torch": val_loss_torch}


def speed_main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m nets scratch-bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_args(p, epochs=3)
    args = p.parse_args(argv)
    numpy_blas_threads(args.blas_threads)
    data = load_scratch_data(args.dataset, args.data_dir, args.seed)
    net = _network(args, data)
    print(f"{args.dataset}: {len(data.x_train)} training images, layers {'-'.join(map(str, net.sizes))}, "
          f"{args.activation}, batch {args.batch_size}, float32; torch threads 1, numpy {blas_threads()}")
    r = time_epochs(net, data, args.epochs, args.lr, args.batch_size, args.seed)
    print(f"numpy {r['numpy_s']:.2f} s/epoch, torch {r['torch_s']:.2f} s/epoch, ratio {r['ratio']:.2f}× "
          f"(median of {r['epochs']} epochs; validation loss numpy {r['val_loss_numpy']:.4f}, "
          f"torch {r['val_loss_torch']:.4f})")
    return r


def accuracy_main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(prog="python -m nets scratch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", action="store_true", help="time NumPy against PyTorch instead")
    _common_args(p, epochs=100)
    p.add_argument("--stop-at-test-acc", type=float, default=None,
                   help="stop after the first epoch whose test accuracy reaches this (for the record)")
    p.add_argument("--save-at", default=(), type=_whole_numbers("epochs to save"), metavar="N,N",
                   help="epochs whose weights to save, e.g. 50,100")
    p.add_argument("--save-dir", default="scratch-weights")
    argv = sys.argv[1:] if argv is None else argv
    if "--bench" in argv:
        return speed_main([a for a in argv if a != "--bench"])
    args = p.parse_args(argv)
    numpy_blas_threads(args.blas_threads)
    data = load_scratch_data(args.dataset, args.data_dir, args.seed)
    net = _network(args, data)
    print(f"{args.dataset}: train {len(data.x_train)}, validation {len(data.x_val)}, test {len(data.x_test)}; "
          f"layers {'-'.join(map(str, net.sizes))}, {args.activation}, {args.init} init ({args.scale}), "
          f"lr {args.lr}, batch {args.batch_size}; numpy {blas_threads()}", flush=True)
    stop = threading.Event()  # set between epochs: fit checks it before the next batch
    started = time.perf_counter()

    def report(r: dict) -> None:
        r["test_acc"] = net.score(data.x_test, data.y_test)
        print(f"epoch {r['epoch']:3d}  train loss {r['train_loss']:.4f}  val acc {r['val_acc']:.4f}  "
              f"test acc {r['test_acc']:.4f}  {time.perf_counter() - started:7.1f} s", flush=True)
        if args.stop_at_test_acc is not None and r["test_acc"] >= args.stop_at_test_acc:
            stop.set()

    history = fit(net, data, args.epochs, args.lr, args.batch_size, args.seed, on_epoch=report, stop=stop,
                  save_at=set(args.save_at), save_dir=Path(args.save_dir))
    last = history[-1]
    print(f"final test accuracy {last['test_acc']:.4f} after {last['epoch']} epochs "
          f"({time.perf_counter() - started:.0f} s)")
    return history
