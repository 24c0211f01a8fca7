"""The ONNX export: a run's model as one .onnx file (torch.onnx.export) for Netron, onnxruntime and friends."""
# What is exported is the written-out model of nets.export.model_source with the run's weights: plain
# layers, no hooks, and no ImageNet weights needed on this machine. The file carries what a user needs
# to feed it (classes, mean, std, input shape) as metadata, which Netron shows under "Properties".
from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import torch

from nets.export.code import style_words
from nets.export.model_source import check_source, model_source
from nets.export.result import ExportError, Exported, file_stem, missing, missing_packages, saved_weights
from nets.inspect.preprocess import style_for
from nets.runs import Run

ONNX_MIME = "application/octet-stream"
NEEDED = ("onnx", "onnxscript")   # torch.onnx.export's own needs
CHECKER = "onnxruntime"           # only to check the file against PyTorch (optional)
OPSET = 18
TOLERANCE = 1e-4                  # largest |ONNX − PyTorch| logit difference accepted
_ONE_AT_A_TIME = threading.Lock()  # torch.export traces with process-wide state: one export at a time


def onnx_missing() -> str:
    """What to install before the ONNX button can work ("" when ready), e.g. for a disabled button's help."""
    return missing("ONNX export", *NEEDED)


def _network(run: Run) -> torch.nn.Module:
    return check_source(model_source(run.info), saved_weights(run))


def _export(net: torch.nn.Module, example: torch.Tensor, input_name: str) -> bytes:
    """torch.onnx.export (the torch.export-based exporter) with a free batch size. verbose=False keeps
    its progress lines quiet; nothing global is redirected, since a server exports in several threads."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory() as tmp:
        program = torch.onnx.export(net, (example,), dynamo=True, opset_version=OPSET, input_names=[input_name],
                                    output_names=["logits"], dynamic_shapes=({0: batch},), verbose=False)
        path = Path(tmp) / "model.onnx"
        program.save(path)
        return path.read_bytes()


def _with_metadata(data: bytes, props: dict[str, str], doc: str) -> bytes:
    import onnx
    proto = onnx.load_from_string(data)
    proto.doc_string = doc
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def check_with_onnxruntime(data: bytes, net: torch.nn.Module, example: torch.Tensor) -> float | None:
    """The largest |ONNX − PyTorch| logit on `example` (None when onnxruntime is not installed)."""
    if missing_packages(CHECKER):
        return None
    import onnxruntime
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    with torch.no_grad():
        want = net(example).numpy()
    return float(abs(got - want).max())


def onnx_file(run: Run, check: bool = True) -> Exported:
    """The run's model as an .onnx file: input `image` (N×C×H×W, normalised as training did; `features`
    for a head on frozen features), output `logits` (N×classes). With `check` and onnxruntime installed,
    the file's logits are compared with PyTorch's. ExportError says why not, or what to install."""
    if missing := onnx_missing():
        raise ExportError(missing)
    net = _network(run)
    info, cfg = run.info, run.config
    in_shape = tuple(int(v) for v in info["input_shape"])
    head = bool(cfg.backbone)
    input_name = "features" if head else "image"
    example = torch.randn(2, *in_shape, generator=torch.Generator().manual_seed(0))
    try:
        data = _export(net, example, input_name)
    except Exception as e:  # noqa: BLE001 - the exporter fails in many ways; the page gets one sentence
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise ExportError(f"This model could not be written as ONNX ({type(e).__name__}: {first}). "
                          "The PyTorch code export (model.py and weights.pt) works for every model.") from e
    style = style_for(in_shape, cfg.dataset)
    if head:
        feeding = f"{in_shape[0]} features of a frozen {cfg.backbone} (ImageNet) per image, as 1×1 maps"
    else:
        feeding = (f"{style_words(style, in_shape)}, then (x/255 − mean)/std per channel (predict.py in the "
                   "code export does exactly this)")
    props = {"run": run.name, "dataset": cfg.dataset, "model": cfg.model, "classes": json.dumps(info["classes"]),
             "input_shape": json.dumps(list(in_shape)), "mean": json.dumps(info.get("mean")),
             "std": json.dumps(info.get("std")), "preprocessing": feeding}
    doc = (f"Neural Net Lab run '{run.name}': {cfg.model} on {cfg.dataset}. Input '{input_name}' "
           f"N×{'×'.join(map(str, in_shape))}: {feeding}. Output 'logits' N×{info['num_classes']}.")
    data = _with_metadata(data, props, doc)
    if check:
        diff = check_with_onnxruntime(data, net, example)
        if diff is not None and not diff <= TOLERANCE:
            raise ExportError(f"The ONNX file does not compute what the PyTorch model does (logits differ by "
                              f"up to {diff:.2g}); it was not offered. The PyTorch code export works.")
    return Exported(f"{file_stem(run.name)}.onnx", data, ONNX_MIME)
