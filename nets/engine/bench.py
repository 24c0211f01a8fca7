"""`python -m nets bench`: the engine against the usual tutorial loop, same model, same data, same
number of images, in one process, alternating the two over a few repeats and taking medians.

The tutorial loop is what pytorch/examples and most courses write: a torchvision-style dataset that
wraps each image in PIL and applies ToTensor() and Normalize, a shuffling DataLoader, `loss.item()`
every batch. Both sides evaluate on the test split after every epoch, as a course notebook does.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from nets.engine.config import TrainConfig
from nets.engine.data import ImageData, load_dataset
from nets.engine.device import device_name, pick_device
from nets.engine.evaluate import predict_logits
from nets.engine.models import build_model
from nets.engine.train import fit


class TutorialDataset(Dataset):
    """What torchvision.datasets.MNIST does per item: PIL image, then the transform."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, mean, std):
        from torchvision import transforms
        self.x, self.y = x, y
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        img = self.x[i]
        img = Image.fromarray(img[0].numpy(), mode="L") if img.shape[0] == 1 else \
            Image.fromarray(img.permute(1, 2, 0).numpy())
        return self.transform(img), int(self.y[i])


def tutorial_train(model, data: ImageData, cfg: TrainConfig, device) -> None:
    train = DataLoader(TutorialDataset(data.x_train, data.y_train, data.mean, data.std),
                       batch_size=cfg.batch_size, shuffle=True)
    test = DataLoader(TutorialDataset(data.x_test, data.y_test, data.mean, data.std), batch_size=1000)
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    for _ in range(cfg.epochs):
        model.train()
        running = 0.0
        for x, y in train:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            running += loss.item()
        tutorial_eval(model, test, device)


@torch.no_grad()
def tutorial_eval(model, loader, device) -> float:
    model.eval()
    correct = total = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        correct += (model(x).argmax(1) == y).sum().item()
        total += len(y)
    return correct / total


def engine_train(model, data: ImageData, cfg: TrainConfig, device) -> None:
    events = []
    fit(model, data, cfg, on_event=events.append)  # every event kept, as the app would


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_training(data, model_name, batch, epochs, repeats, device) -> tuple[float, float]:
    cfg = TrainConfig(dataset=data.name, model=model_name, optimizer="sgd", lr=0.01, momentum=0.9,
                      epochs=epochs, batch_size=batch, device=str(device))
    images = epochs * len(data.x_train)
    engine, tutorial = [], []
    for _ in range(repeats):  # A B A B …: machine noise hits both sides alike
        torch.manual_seed(0)
        m = build_model(model_name, data.input_shape, data.num_classes)
        engine.append(images / timed(lambda: engine_train(m, data, cfg, device)))
        torch.manual_seed(0)
        m = build_model(model_name, data.input_shape, data.num_classes)
        tutorial.append(images / timed(lambda: tutorial_train(m, data, cfg, device)))
    return statistics.median(engine), statistics.median(tutorial)


def bench_eval(data, model_name, repeats, device) -> tuple[float, float]:
    model = build_model(model_name, data.input_shape, data.num_classes).to(device)
    loader = DataLoader(TutorialDataset(data.x_train, data.y_train, data.mean, data.std), batch_size=1000)
    conv = model_name != "mlp"
    x = data.x_train.to(device)
    if conv:
        model.to(memory_format=torch.channels_last)
    engine, tutorial = [], []
    for _ in range(repeats):
        engine.append(len(x) / timed(lambda: predict_logits(model, x, data.mean, data.std, 1000, device,
                                                            channels_last=conv).cpu()))
        model.to(memory_format=torch.contiguous_format)
        tutorial.append(len(x) / timed(lambda: tutorial_eval(model, loader, device)))
        if conv:
            model.to(memory_format=torch.channels_last)
    return statistics.median(engine), statistics.median(tutorial)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m nets bench", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist-mini", help="mnist-mini (bundled) or mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--models", default="mlp,lenet")
    p.add_argument("--batches", default="64,256")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: comparable figures)")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    data = load_dataset(args.dataset, args.data_dir, download=False)
    print(f"# {args.dataset}: {len(data.x_train)} train images × {args.epochs} epochs per timing, "
          f"medians of {args.repeats}, device {device_name(device)}, torch {torch.__version__}")
    for name in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            e, t = bench_training(data, name, batch, args.epochs, args.repeats, device)
            print(f"{name} batch {batch}: engine {e:.0f} img/s, tutorial {t:.0f} img/s, ratio {e / t:.1f}x",
                  flush=True)
        e, t = bench_eval(data, name, args.repeats, device)
        print(f"{name} evaluation batch 1000: engine {e:.0f} img/s, tutorial {t:.0f} img/s, ratio {e / t:.1f}x",
              flush=True)
