"""The Runs page's Export section (not a page itself): the selected runs as PyTorch code, ONNX, CSV,
a printable report, W&B offline runs and TensorBoard logs, each with a line on how to open it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import streamlit as st

from nets.export import ExportError, Exported, onnx_export, tensorboard_logs, wandb_run
from nets.export.result import unexportable
from nets.export.code import ZIP_MIME, code_zip, exportable, zip_name
from nets.export.material import MAX_RUNS
from nets.export.report import export_report, report_name
from nets.export.table import metrics_csv
from nets.runs import Run, compare, get_run
from nets.text import plain
from pages._cached import run_dataset

ONE_RUN = "export_one_run"   # which selected run the code and ONNX exports take
ACTION_WIDTH = [1, 2.8]      # button | what it is and how to open it: the button column holds a file size
ONE_RUN_WIDTH = 560          # pixels: a run's full label, not the whole page's width


@dataclass(frozen=True)
class Slow:
    """An export that takes seconds: built on a click, kept in the session until the selection changes."""
    title: str                               # its row's title: the format and its file type
    name: str                                # the session key's suffix
    prepare: str                             # the button's label
    spinner: str
    build: Callable[[list[Run]], Exported]
    missing: Callable[[], str]               # what to install first ("" when ready)


def size_words(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{max(1, round(n / 2**10)):,} KB"


def fingerprint(runs: list[Run]) -> tuple:
    """What an export of these runs depends on: a rename, new weights or another epoch make it stale."""
    return tuple((r.id, r.name, r.weights_file, str(r.info.get("status")), len(r.info.get("history") or []))
                 for r in runs)


# ----------------------------------------------------------------------------- building (no widgets)
# The cheap exports are built when their download button is clicked, in a thread of Streamlit's
# (deferred data): they cannot draw, so what can fail is checked before the button is drawn.
def code_bytes(run: Run) -> bytes:
    return code_zip(run).data


def report_bytes(runs: list[Run]) -> bytes:
    return export_report(runs, dataset=run_dataset).data


def build_wandb(runs: list[Run]) -> Exported:
    return wandb_run.export_wandb(runs, dataset=run_dataset)


def build_tensorboard(runs: list[Run]) -> Exported:
    return tensorboard_logs.export_tensorboard(runs, dataset=run_dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
def _onnx(root: str, run_id: str, weights_file: str) -> Exported:
    return onnx_export.onnx_file(get_run(root, run_id))


def build_onnx(runs: list[Run]) -> Exported:
    """Shared by every session until the run's weights change (they get a new file name): a class
    exporting the same run waits once. A failure raises, and is not kept."""
    run = runs[0]
    return _onnx(str(run.path.parent), run.id, run.weights_file)


# Looked up by attribute on each call, so that a test can replace a module's missing().
ONNX = Slow("ONNX (.onnx)", "onnx", "Prepare ONNX file",
            "Writing the ONNX file and checking it against PyTorch…", build_onnx, lambda: onnx_export.onnx_missing())
WANDB = Slow("Weights & Biases (offline runs, .zip)", "wandb", "Prepare W&B runs",
             "Writing offline Weights & Biases runs…", build_wandb, lambda: wandb_run.missing())
TENSORBOARD = Slow("TensorBoard logs (.zip)", "tensorboard", "Prepare TensorBoard logs",
                   "Writing TensorBoard event files…", build_tensorboard, lambda: tensorboard_logs.missing())
REPORT_TITLE, REPORT_LABEL = "Printable report (.html)", "Download report"


# ----------------------------------------------------------------------------- drawing
def row(title: str, about: str = ""):
    """One format: (the column for its button, the column for notes under its description)."""
    action, text = st.columns(ACTION_WIDTH, vertical_alignment="top")
    text.markdown(f"**{title}**" + (f" · {about}" if about else ""))
    return action, text


def not_here(action, text, label: str, reason: str, key: str) -> None:
    """A format that does not apply: a disabled button, the reason as its help and in words."""
    reason = plain(reason)  # it may quote the run's record
    action.button(label, disabled=True, help=reason, width="stretch", key=f"export_{key}_off")
    text.caption(f"Not available: {reason}")


def slow_ui(fmt: Slow, runs: list[Run], action, text, after: Callable[[Exported], None] | None = None) -> None:
    """Prepare on a click (spinner), then the download; an ExportError's message, never a traceback."""
    if hint := fmt.missing():
        action.button(fmt.prepare, disabled=True, help=hint, width="stretch", key=f"export_{fmt.name}_off")
        text.warning(f"Not installed on this server. {hint}", icon="📦")
        return
    slot, key = f"export_{fmt.name}", fingerprint(runs)
    held = st.session_state.get(slot)
    result = held[1] if held is not None and held[0] == key else None
    spot = action.empty()  # the Prepare button, replaced by the download once the file is ready
    if not isinstance(result, Exported) and spot.button(fmt.prepare, key=f"{slot}_prepare", width="stretch"):
        with text, st.spinner(fmt.spinner):
            try:
                result = fmt.build(runs)
            except ExportError as e:
                result = str(e)
        st.session_state[slot] = (key, result)  # one result per format: a new selection replaces it
    if isinstance(result, str):
        text.error(plain(result))  # an ExportError may quote the run's record
    elif isinstance(result, Exported):
        kind = result.file_name.rsplit(".", 1)[-1]
        spot.download_button(f"Download .{kind} ({size_words(result.size)})", data=result.data,
                             file_name=result.file_name, mime=result.mime, on_click="ignore", key=f"{slot}_download",
                             width="stretch", icon=":material/download:")
        if after:
            after(result)  # a command that names the unzipped folder
        else:
            text.caption(f"Ready: `{result.file_name}`")


def one_run_ui(runs: list[Run], labels: dict) -> Run:
    """Code and ONNX take one run: the only one, or the one chosen among the selected."""
    if len(runs) == 1:
        return runs[0]
    ids = [r.id for r in runs]
    if st.session_state.get(ONE_RUN) not in ids:
        st.session_state[ONE_RUN] = ids[0]
    chosen = st.selectbox("Code and ONNX take one run: which?", ids, format_func=labels.get, key=ONE_RUN,
                          width=ONE_RUN_WIDTH)
    return next(r for r in runs if r.id == chosen)


def code_row(run: Run) -> None:
    action, text = row("PyTorch code (.zip)",
                       "model.py, weights.pt, predict.py, train.py and a README, with the training data "
                       "when it is bundled. Unzip, then `python predict.py example.png`.")
    if why := exportable(run):
        not_here(action, text, "Download code", why, "code")
        return
    action.download_button("Download code", data=partial(code_bytes, run), file_name=zip_name(run), mime=ZIP_MIME,
                           on_click="ignore", key="export_code", width="stretch", icon=":material/download:")


def onnx_row(run: Run) -> None:
    head = bool(run.config.backbone)
    action, text = row(ONNX.title,
                       ("the trained head alone: its input is the backbone's features, not a picture. " if head
                        else "the network as one file: input a normalised image batch, output the logits. ")
                       + "Open it in [netron.app](https://netron.app) to see the graph, or run it with onnxruntime.")
    if why := unexportable(run):
        not_here(action, text, ONNX.prepare, why, ONNX.name)
        return
    slow_ui(ONNX, [run], action, text)


def csv_row(runs: list[Run]) -> None:
    action, text = row("Metrics (.csv)", "every epoch's losses and accuracies, one row per run and epoch: "
                       "open it in a spreadsheet or with `pandas.read_csv`.")
    try:
        table = metrics_csv(runs)  # a few kilobytes: built with the page, so its error shows here
    except ExportError as e:
        not_here(action, text, "Download CSV", str(e), "csv")
        return
    action.download_button("Download CSV", data=table.data, file_name=table.file_name, mime=table.mime,
                           on_click="ignore", key="export_csv", width="stretch", icon=":material/download:")


def report_row(runs: list[Run]) -> None:
    action, text = row(REPORT_TITLE, "settings, parameter table with its formulas, curves, "
                       "what happened inside training, confusion matrix, first mistakes, in one self-contained page: open it, then print to PDF.")
    action.download_button(REPORT_LABEL, data=partial(report_bytes, runs), file_name=report_name(runs),
                           mime="text/html", on_click="ignore", key="export_report", width="stretch",
                           icon=":material/download:")


def sync_note(text, result: Exported) -> None:
    text.code(wandb_run.sync_command(result.file_name), language="bash")


def wandb_row(runs: list[Run]) -> None:
    action, text = row(WANDB.title,
                       ("one W&B group for the selected runs. " if len(runs) > 1 else "")
                       + "Metrics, layer-statistics histograms and the confusion matrix. Upload from your own machine: `pip install wandb` and `wandb login`, unzip, then run "
                       "the `wandb sync` command that appears here.")
    slow_ui(WANDB, runs, action, text, after=partial(sync_note, text))


def logdir_note(text, result: Exported) -> None:
    text.code(tensorboard_logs.view_command(result.file_name.removesuffix(".zip")), language="bash")


def tensorboard_row(runs: list[Run]) -> None:
    action, text = row(TENSORBOARD.title, "scalars per epoch, the confusion matrix, the parameter table, "
                       "the settings as hyperparameters and the layer statistics (histograms of weights, "
                       "gradients and activations at every recorded step), one folder per run: unzip, then run "
                       "the `tensorboard --logdir` command that appears here.")
    slow_ui(TENSORBOARD, runs, action, text, after=partial(logdir_note, text))


def export_ui(selected: list[Run]) -> None:
    """The Export section for the runs selected in the table."""
    st.subheader("Export")
    labels = compare.run_labels(selected)
    one = one_run_ui(selected, labels)
    code_row(one)
    onnx_row(one)
    if len(selected) > 1:
        st.markdown(f"**All {len(selected)} selected runs together:** the metrics, the report, W&B and TensorBoard.")
    csv_row(selected)
    if len(selected) > MAX_RUNS:
        too_many = f"select at most {MAX_RUNS} runs for one export ({len(selected)} selected)."
        for title, label, key in ((REPORT_TITLE, REPORT_LABEL, "report"), (WANDB.title, WANDB.prepare, WANDB.name),
                                  (TENSORBOARD.title, TENSORBOARD.prepare, TENSORBOARD.name)):
            not_here(*row(title), label, too_many, key)
        return
    report_row(selected)
    wandb_row(selected)
    tensorboard_row(selected)
