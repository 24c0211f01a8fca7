"""A queued job's expected wait: the queue played forward over the slots, run times learned from finished jobs."""
import pytest
from test_jobs import TINY

from nets.server.jobs import JobManager
from nets.server.waits import START_S, Durations, about, left_s, queued_text, start_waits


def test_the_queue_is_played_forward_over_the_free_slots():
    assert start_waits(2, [10, 30], [20, 20, 20]) == [10, 30, 30]
    assert start_waits(1, [], [5, 5, 5]) == [0, 5, 10]
    assert start_waits(3, [4], [1, 1, 1, 1]) == [0, 0, 1, 1]  # two slots free now, then the first to end
    assert start_waits(1, [-3], [2]) == [0]  # a job past its expectation frees no slot in the past


def test_run_times_are_learned_per_configuration_and_calibrate_the_estimates():
    d = Durations()
    assert d.expected("lenet", 1.0) == 1.0 + START_S  # nothing finished yet: the estimate plus a start
    assert d.expected("other", None) > 0
    d.finished("lenet", 8.0, 1.0)
    d.finished("lenet", 10.0, 1.0)
    assert d.expected("lenet", 1.0) == 9.0  # the median of what it took here
    assert d.expected("mlp", 2.0) == pytest.approx(18.0)  # its estimate, times how far estimates fell short
    assert left_s(9.0, 3.0) == 6.0 and left_s(9.0, 20.0) == pytest.approx(0.9)


def test_the_student_reads_a_place_and_a_time():
    assert about(3) == "a few seconds" and about(42) == "40 s" and about(150) == "2 min"
    assert about(4000) == "1 h 7 min"
    text = queued_text(12, 95)
    assert text.startswith("Queued: position 12 in the queue") and "about 2 min" in text


def test_queued_jobs_show_their_expected_wait(ckpt):
    manager = JobManager(ckpt, max_running=1, backend="thread")
    try:
        jobs = [manager.submit(TINY, owner=f"student{i}") for i in range(4)]
        views = [manager.view(j.id) for j in jobs]
        queued = [v for v in views if v.status == "queued"]
        assert [v.position for v in queued] == list(range(1, len(queued) + 1)) and len(queued) >= 2
        waits = [v.wait_s for v in queued]
        assert all(w is not None and w >= 0 for w in waits) and waits == sorted(waits) and waits[-1] > waits[0]
        assert all(v.wait_s is None for v in views if v.status != "queued")
        for j in jobs:
            manager.wait(j.id, timeout=120)
        assert manager.durations.expected(jobs[0].key, jobs[0].estimated) > 0  # learned from what they took
        assert len(manager.durations._by_key[jobs[0].key]) == 4
    finally:
        manager.close()
