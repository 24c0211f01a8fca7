"""Issue 19, items 6 and 9 on the Train page: a network over the server's budget for one job is
refused before Train, with the reason; a refusal at submit (the disk budget) is a message, not a
traceback."""
import pytest

from nets.text import shown

HUGE = {"lesson": "1", "model": "mlp", "hidden": ",".join(["16384"] * 16), "dataset": "cifar10"}


@pytest.fixture
def env(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    return ckpt


from test_page_lesson import open_train  # noqa: E402 (the Train page opened at a lesson link)


def train_button(at):
    return next(b for b in at.button if b.key == "train_go")


def test_a_network_over_the_budget_disables_train_and_says_why(env):
    at = open_train(HUGE)
    assert any("4,077,289,482 parameters" in m.value for m in at.markdown)
    (error,) = at.error
    assert "budget for one job" in shown(error.value)
    assert train_button(at).disabled


def test_an_ordinary_network_trains_as_before(env):
    at = open_train({"lesson": "1", "model": "mlp", "hidden": "16"})
    assert not at.error and not train_button(at).disabled


def test_over_the_disk_budget_train_gives_a_message(env, monkeypatch):
    monkeypatch.setenv("NNLAB_DISK_BUDGET_MB", "1")
    folder = env / "big-run"
    folder.mkdir()
    (folder / "run.json").write_text('{"name": "big", "status": "completed", "config": {}}')
    (folder / "model.pt").write_bytes(b"0" * (3 * 2**20))
    from nets.runs import index
    index(env).rebuild()
    at = open_train({"lesson": "1", "model": "mlp", "hidden": "16"})
    train_button(at).click().run()
    assert not at.exception
    assert at.error and "MB" in shown(at.error[0].value)
