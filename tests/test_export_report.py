"""The printable report: one offline HTML file with each run's configuration, parameter table with
formulas, curves, inside training (layer statistics and the doctor's findings), confusion matrix with
best and worst class, first mistakes, and a print stylesheet."""
import base64
import html
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from exporttools import no_data, stats_run
from nets.coach.dynamics import findings
from nets.engine.data import DatasetError
from nets.export.report import export_report
from nets.inspect.anatomy import layer_table
from nets.runs import get_run, load_evaluation, load_model
from nets.runs.dynamics import read_dynamics
from pagetools import tiny_run

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "lenet-mnist-mini"


def shipped_run(ckpt):
    # without the evaluation another test may have cached next to it: the export computes its own
    shutil.copytree(SHIPPED, ckpt / SHIPPED.name, ignore=shutil.ignore_patterns("evaluation.npz"))
    return get_run(ckpt, SHIPPED.name)


class Parts(HTMLParser):
    """What a reader sees: the text, the images (decoded), the charts, the rows marked as differing."""
    def __init__(self, page: str):
        super().__init__()
        self.text, self.images, self.svgs, self.differs, self.styles, self._style = [], [], 0, 0, [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        self.svgs += tag == "svg"
        self.differs += tag == "tr" and a.get("class") == "differs"
        self._style = tag == "style"

    def handle_data(self, data):
        (self.styles if self._style else self.text).append(data)

    def handle_endtag(self, tag):
        self._style = False


def words(parts: Parts) -> str:
    return re.sub(r"\s+", " ", html.unescape(" ".join(parts.text)))


def pngs(parts: Parts) -> list[Image.Image]:
    out = []
    for src in parts.images:
        assert src.startswith("data:image/png;base64,"), src[:40]  # embedded: the file works offline
        out.append(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))
    return out


def test_the_shipped_run_has_every_part_of_the_deliverable(ckpt):
    run = shipped_run(ckpt)
    exported = export_report([run])
    assert exported.file_name == "nnlab-report-lenet-mnist-mini.html" and exported.mime == "text/html"
    page = exported.data.decode("utf-8")
    parts = Parts(page)
    text = words(parts)
    for setting, value in (("optimizer", "sgd"), ("lr", "0.05"), ("momentum", "0.9"), ("batch_size", "64")):
        assert re.search(rf"{setting}\s+{re.escape(value)}", text), setting
    for row in layer_table(load_model(run), run.info["input_shape"]):
        assert row["formula"] in text and row["size formula"] in text
    assert "(5·5·1+1)·10 = 260" in text and "8,490" in text
    ev = load_evaluation(run)
    (best, best_acc), (worst, worst_acc) = ev.best_class(), ev.worst_class()
    assert f"Best class: {best} ({best_acc:.1%} right)" in text
    assert f"Worst class: {worst} ({worst_acc:.1%} right)" in text
    # loss and accuracy curves, drawn inline; the shipped run carries its layer statistics: two charts more
    assert parts.svgs == 4 and "Inside training" in text
    assert "48 records, one every 10 steps, steps 1 to 470" in text and "Update ratio per layer" in text
    images = pngs(parts)
    assert len(images) == 1 + 16  # the confusion matrix and the first 16 mistakes
    assert images[0].size[0] > 300 and all(im.size == (84, 84) for im in images[1:])
    first = ev.first_mistakes(1)[0]
    assert f"#{first['index']}: {first['true']} → {first['predicted']}" in text
    css = " ".join(parts.styles)
    assert "@media print" in css and "break-before: page" in css and "@page" in css
    assert not re.search(r"(src|href)=['\"]https?:", page)  # nothing fetched from the network


def test_two_runs_compare_side_by_side(ckpt):
    ids = [tiny_run(ckpt, "slow", lr=0.01, stats_every=5), tiny_run(ckpt, "fast", lr=0.3, stats_every=0)]
    page = export_report([get_run(ckpt, i) for i in ids]).data.decode()
    parts = Parts(page)
    text = words(parts)
    # the run with layer statistics has two charts more; the one without exports as before
    assert "Test accuracy by run" in text and parts.svgs == 1 + 2 * 2 + 2
    assert text.count("Inside training") == 1 and page.index("Inside training") < page.index("<h2>fast</h2>")
    assert parts.differs >= 2  # lr and name differ; the other settings do not
    assert text.count("Parameters per layer") == 2 and page.count("<section class='run'>") == 2


def test_missing_pieces_become_notes_not_errors(ckpt):
    run = shipped_run(ckpt)
    run.weights_path.unlink()  # a run stopped before its first epoch ended: no model, no evaluation

    def no_data(run):
        raise DatasetError("not here")
    page = export_report([run], dataset=no_data).data.decode()
    text = words(Parts(page))
    assert "No model" in text and "No parameter table" in text and "Confusion matrix" not in text
    assert "lr" in text and Parts(page).svgs == 2 + 2  # the configuration, curves and inside training are still there


def test_a_run_with_layer_statistics_shows_inside_training_and_the_doctors_findings(ckpt):
    runs = [stats_run(ckpt, "deep sigmoid", records=40, site_kind="sigmoid", grad_first_over_last=1e-6, saturated=0.7,
                      layers=("<i>fc1</i>", "fc2")),  # a hand-edited run.json's layer name stays text
            stats_run(ckpt, "healthy", records=3)]
    page = export_report(runs, dataset=no_data).data.decode()
    parts = Parts(page)
    text = words(parts)
    assert "<i>" not in page and "&lt;i&gt;fc1&lt;/i&gt;" in page
    assert parts.svgs == 1 + 2 * 2 + 2 * 2  # runs' accuracy; per run loss, accuracy, gradient norm, update ratio
    assert text.count("Inside training") == 2 and "40 records, one every 5 steps, steps 5 to 200" in text
    assert "Gradient norm per layer" in text and "‖gradient‖, log scale" in text and "1e-6" in text
    assert "1e-3: healthy" in text and "training step" in text
    found = findings(read_dynamics(runs[0]))
    assert {f.kind for f in found} >= {"vanishing", "saturated"}
    for f in found:  # one line each, as the doctor says it
        assert f.text in text
    assert page.count("<li>") == len(found)
    assert "The training doctor found no alarms" in text.split("healthy")[-1]
    update = re.search(r"<svg[^>]*aria-label='Update ratio per layer'.*?</svg>", page.split("<h2>healthy</h2>")[-1]).group(0)
    assert "stroke-dasharray='6 4'" in update  # the 1e-3 rule
