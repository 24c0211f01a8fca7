"""The "Augmentation preview" page in AppTest: the grid of versions, the seed, uploads."""
import io

import numpy as np
from formats import write_cifar
from PIL import Image
from streamlit.testing.v1 import AppTest
from nets.text import shown



def shown_captions(image) -> list[str]:
    """An image's captions as shown: they are escaped, since they may hold file names."""
    return [shown(c) for c in image.captions]

def page() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    return at.switch_page("pages/augment_preview.py").run()


def widget(elements, label):
    return next(e for e in elements if e.label.startswith(label))


def grid(at):
    """The versions' image URLs (named by content) and captions."""
    element = next(im for im in at.image if shown_captions(im) and shown_captions(im)[0] == "#1")
    return element.value, shown_captions(element)


def png(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def test_twelve_versions_that_change_with_the_seed():
    at = page()
    assert not at.exception and not at.error
    assert widget(at.multiselect, "Augmentations").value == ["crop"]  # a mirrored digit is no digit: no flip
    assert "CIFAR-10 test image" not in widget(at.radio, "Image").options   # not on disk in tests
    urls, captions = grid(at)
    assert captions == [f"#{i}" for i in range(1, 13)] and len(set(urls)) > 1
    assert any(c.startswith("Original: Test digit 0: 6 (1×28×28)") for im in at.image for c in shown_captions(im))
    widget(at.number_input, "Seed").set_value(1).run()
    assert not at.exception and grid(at)[0] != urls
    widget(at.number_input, "Seed").set_value(0).run()
    assert grid(at)[0] == urls                                  # the same seed, the same versions


def test_choices_of_augmentations_and_count():
    at = page()
    widget(at.multiselect, "Augmentations").set_value(["affine", "jitter", "sharpness"]).run()
    widget(at.slider, "Versions").set_value(6).run()
    assert not at.exception and len(grid(at)[1]) == 6
    assert at.subheader[0].value == "6 versions: random affine → colour jitter → sharpness"
    widget(at.multiselect, "Augmentations").set_value([]).run()
    assert not at.exception and "every version below is the original" in at.info[0].value
    assert len(set(grid(at)[0])) == 1


def test_uploads():
    at = page()
    widget(at.radio, "Image").set_value("Upload").run()
    assert not at.exception and at.info
    widget(at.file_uploader, "Upload a PNG").set_value(("notes.png", b"hello", "image/png")).run()
    assert not at.exception and "notes.png: This file is not a PNG" in at.error[0].value
    assert not any(shown_captions(im) and shown_captions(im)[0] == "#1" for im in at.image)
    photo = np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    widget(at.file_uploader, "Upload a PNG").set_value(("photo.png", png(photo), "image/png")).run()
    assert not at.exception and not at.error and len(grid(at)[1]) == 12
    assert any("photo.png (3×128×85)" in c for im in at.image for c in shown_captions(im))


def test_cifar_images_when_on_disk(tmp_path, monkeypatch):
    write_cifar(tmp_path, n=20)
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    at = page()
    widget(at.radio, "Image").set_value("CIFAR-10 test image").run()
    widget(at.number_input, "Test image").set_value(19).run()
    assert not at.exception and len(grid(at)[1]) == 12
    assert any(c.startswith("Original: Test image 19: ") and c.endswith("(3×32×32)")
               for im in at.image for c in shown_captions(im))
