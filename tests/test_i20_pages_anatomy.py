"""Issue 20, item 10: the Anatomy page's formula column was cut at 1366×768 (the table's ten columns
squeezed into the page); now each column is as wide as its text, the table fits 1366×768 for LeNet,
BatchNorm's long note is said once under the table, and 'trainable' shows only when a layer is frozen."""
import json

import pagetools

CONTENT_PX_1366 = 1366 - 300 - 2 * 80   # the sidebar and the wide layout's side padding
MIN_PX_PER_CHAR = 5.0                    # a lower bound for the 14 px font (digits draw about 7.5 px)


def table(at):
    (df,) = at.dataframe
    return df.value, json.loads(df.proto.columns)


def test_every_column_is_as_wide_as_its_text_and_lenet_fits_1366(monkeypatch, ckpt):
    at = pagetools.open_page("pages/anatomy.py", ckpt, monkeypatch)
    frame, config = table(at)
    assert "trainable" not in frame.columns  # every parameter trains: the metric says so
    for col in frame.columns:
        longest = max(len(f"{v:,}" if isinstance(v, int) else str(v)) for v in frame[col])
        assert config[col].get("width", 0) >= MIN_PX_PER_CHAR * longest, (col, config[col])
    assert sum(config[c]["width"] for c in frame.columns) <= CONTENT_PX_1366
    assert config["layer"].get("pinned") is True   # a wider model scrolls sideways, its layer names stay


def test_batch_norms_note_is_said_once_under_the_table(monkeypatch, ckpt):
    at = pagetools.open_page("pages/anatomy.py", ckpt, monkeypatch)
    next(c for c in at.checkbox if c.label == "Batch norm").check().run()
    assert not at.exception
    frame, config = table(at)
    bn = frame[frame["type"].str.startswith("BatchNorm")]
    assert len(bn) and all(f.endswith(" ¹") and "buffers" not in f for f in bn["formula"])
    notes = [c.value for c in at.caption if c.value.startswith("¹")]
    assert notes == ["¹ γ and β per channel; running mean and variance are buffers, not parameters"]
    assert config["formula"]["width"] >= MIN_PX_PER_CHAR * max(len(f) for f in frame["formula"])
