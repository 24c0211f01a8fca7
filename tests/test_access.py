from nets.engine.config import TrainConfig
from nets.runs import get_run
from nets.runs.access import Access, password_matches
from nets.server.jobs import JobManager

ALICE = Access("alice", lecturer=False, single_user=False)
LECTURER = Access("lecturer-tab", lecturer=True, single_user=False)
LAPTOP = Access("me", lecturer=False, single_user=True)


def test_students_see_their_own_shared_and_ownerless_runs():
    own, bobs, shared, cli = {"owner": "alice"}, {"owner": "bob"}, {"owner": "bob", "shared": True}, {}
    assert [ALICE.can_view(i) for i in (own, bobs, shared, cli)] == [True, False, True, True]
    assert [ALICE.can_modify(i) for i in (own, bobs, shared, cli)] == [True, False, False, False]
    assert "Only the student" in ALICE.why_not(bobs) and ALICE.why_not(own) == ""


def test_the_lecturer_and_a_laptop_may_do_everything():
    for who in (LECTURER, LAPTOP):
        assert who.can_view({"owner": "bob"}) and who.can_modify({"owner": "bob"}) and who.can_modify({})


def test_password():
    assert password_matches("s3cret", "s3cret")
    assert not password_matches("s3cre", "s3cret") and not password_matches("", "")


def test_runs_record_the_session_that_trained_them(ckpt):
    jobs = JobManager(ckpt)
    job = jobs.submit(TrainConfig(model="mlp", hidden=(8,), train_per_class=10, epochs=1), owner="alice")
    view = jobs.wait(job.id)
    assert get_run(ckpt, view.run_id).info["owner"] == "alice"
