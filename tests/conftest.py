import os

import pytest
import torch

# One intra-op thread: on a 2-core CI machine, two threads slow to a crawl whenever another process
# (a Streamlit server under test, a second test) takes a core.
torch.set_num_threads(1)
os.environ.setdefault("NNLAB_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data-test-unused"))
# Page tests train in a thread of the test process (fast to start, and monkeypatches reach it); the
# worker processes the app uses by default have their own tests (test_jobs.py, test_worker_pool.py)
# and the browser tests' servers use them.
os.environ.setdefault("NNLAB_JOB_BACKEND", "thread")


@pytest.fixture
def ckpt(tmp_path):
    """An empty checkpoints folder."""
    path = tmp_path / "checkpoints"
    path.mkdir()
    return path


@pytest.fixture
def service(ckpt, monkeypatch):
    """The job service the pages find (its own checkpoints folder: a fresh one), closed after."""
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    from pages._service import job_manager
    manager = job_manager()
    yield manager
    manager.close()
