"""Taking a run away: runnable PyTorch code, ONNX, per-epoch metrics as CSV, and more.

    result        ExportError (a message for the page), Exported (a named file of bytes), a run's weights
    template      filling in the script templates under templates/ ({{name}} values, #% if blocks)
    model_source  a run's architecture written out as plain PyTorch (model.py), checked against its weights
    code          the zip: model.py, weights.pt, predict.py, train.py, README.md (and the bundled data)
    onnx_export   the model as ONNX (torch.onnx.export), checked with onnxruntime when it is installed
    table         the selected runs' per-epoch metrics as one long CSV table
    material      what the W&B, TensorBoard and report exports hold, gathered once per run
    wandb_run     Weights & Biases offline run folders, zipped with the command that uploads them
    wandb_log     W&B's record log (.wandb) read and written, so a run folder can move
    dynamics_out  the layer statistics as the exports write them (histogram buckets, tags, scalars)
    tensorboard_logs  TensorBoard event files of runs, zipped
    report        a printable, self-contained HTML report of runs
"""
from nets.export.result import ExportError, Exported

__all__ = ["ExportError", "Exported"]
