"""Two students at once (nets/playground/gate.py): both sessions' networks train, and never two updates at the same time."""
import contextlib
import threading
import time

from nets.playground import gate
from nets.playground.state import PlaygroundConfig, new_state
from nets.playground.train import boundary, epoch_batches, neuron_maps, step

ROUNDS = 5


class Watch:
    """Counts the updates inside the gate at this moment, and the most there ever were."""

    def __init__(self):
        self.lock, self.inside, self.most, self.entries = threading.Lock(), 0, 0, []

    @contextlib.contextmanager
    def entered(self, who):
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.entries.append(who)
        try:
            yield
        finally:
            with self.lock:
                self.inside -= 1


def play(states, turn, inside=lambda: None):
    """Each state in its own thread, like a Streamlit session's fragment: ROUNDS updates of one epoch and a
    redraw, each under `turn()`. A barrier between rounds keeps the two sessions playing at the same time."""
    watch, rounds, errors = Watch(), threading.Barrier(len(states)), []

    def session(who, state):
        try:
            for _ in range(ROUNDS):
                rounds.wait()  # both sessions ask for their turn together
                with turn(), watch.entered(who):
                    step(state, epoch_batches(state))
                    neuron_maps(state, 10), boundary(state, 20)
                    inside()
                    time.sleep(0.002)  # hand the GIL over inside the turn: the other session tries to enter now
        except Exception as e:  # reported by the test, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=session, args=(i, s)) for i, s in enumerate(states)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return watch


def two_students():
    return [new_state(PlaygroundConfig().changed(dataset="xor"), 1),
            new_state(PlaygroundConfig().changed(dataset="spiral", hidden=(6, 3)), 2)]


def test_two_sessions_both_train_one_update_at_a_time():
    states = two_students()
    first = [s.history[:] for s in states]
    served = gate.stats()["updates"]
    watch = play(states, gate.turn)
    assert watch.most == 1  # the gate never let the two sessions' updates overlap ...
    assert sorted(watch.entries) == [0] * ROUNDS + [1] * ROUNDS  # ... and served every one of both
    assert [s.epoch for s in states] == [ROUNDS - 1] * 2 and all(s.batches > 0 for s in states)  # both progressed
    assert all(len(s.history) == len(h) + ROUNDS for s, h in zip(states, first))
    assert gate.stats()["updates"] >= served + 2 * ROUNDS


def test_the_watch_sees_overlap_without_the_gate():
    """The counter is not trivially 1: with no gate and both sessions held inside together, it reads 2."""
    together = threading.Barrier(2)
    watch = play(two_students(), contextlib.nullcontext, inside=together.wait)
    assert watch.most == 2
