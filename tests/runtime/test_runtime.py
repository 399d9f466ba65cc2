import asyncio
import os
import pickle
import time

import pytest

from helpers_rewards import Flag, Length, Runaway
from rewardsmith.core import Sample, Score, Status
from rewardsmith.runtime import Cached, Isolated, ProcessExecutor, Threaded


def _sleep_or_square(x):
    if x < 0:
        time.sleep(3600)
    return x * x


@pytest.fixture(scope="module")
def executor():
    ex = ProcessExecutor(2)
    yield ex
    ex.close()


def test_a_task_that_sleeps_forever_is_killed_and_the_rest_complete(executor):
    start = time.monotonic()
    out = executor.map(_sleep_or_square, [(1,), (-1,), (2,), (-1,), (3,), (4,)], timeout=1.0)
    elapsed = time.monotonic() - start
    assert [o.status for o in out] == [
        Status.OK,
        Status.TIMEOUT,
        Status.OK,
        Status.TIMEOUT,
        Status.OK,
        Status.OK,
    ]
    assert [o.value for o in out if o.status is Status.OK] == [1, 4, 9, 16]
    assert elapsed < 20  # hang guard, not a speed check
    # the pool replaced its killed workers and still works
    assert [o.value for o in executor.map(_sleep_or_square, [(5,)], timeout=5.0)] == [25]


def test_isolated_reward_scores_runaway_items_as_timeouts_at_the_floor(executor):
    reward = Isolated(Runaway(), timeout=1.0, executor=executor)
    samples = [Sample(completion=t) for t in ("fine", "spin", "sleep", "die", "fine too")]
    out = reward.score(samples)
    assert [s.status for s in out] == [
        Status.OK,
        Status.TIMEOUT,
        Status.TIMEOUT,
        Status.ERROR,
        Status.OK,
    ]
    assert [s.value for s in out] == [1.0, 0.0, 0.0, None, 1.0]
    assert "worker killed" in out[1].info["reason"]
    assert out[3].error.type == "WorkerDied"


def test_isolated_async_path_matches_sync(executor):
    reward = Isolated(Flag(), timeout=5.0, executor=executor)
    samples = [Sample(completion=t) for t in ("yes", "no", "boom")]
    assert asyncio.run(reward.ascore(samples)) == reward.score(samples)
    assert reward.score(samples)[2].error.message == "checker exploded"


def test_threaded_reports_a_stuck_item_as_timeout_without_waiting_for_it():
    reward = Threaded(Runaway(), threads=2, timeout=0.5)
    start = time.monotonic()
    out = reward.score(
        [Sample(completion="ok"), Sample(completion="sleep"), Sample(completion="ok")]
    )
    assert [s.status for s in out] == [Status.OK, Status.TIMEOUT, Status.OK]
    assert time.monotonic() - start < 10


def test_cache_scores_repeated_items_once_and_never_remembers_failures():
    inner = Flag()
    cached = Cached(inner)
    batch = [Sample(completion="yes")] * 8 + [Sample(completion="no"), Sample(completion="boom")]
    first = cached.score(batch)
    assert inner.calls == 3
    assert cached.score(batch) == first
    assert inner.calls == 4  # only the failed item is retried
    assert (cached.hits, cached.misses) == (7 + 9, 3 + 1)


def test_cache_key_covers_reference_and_params():
    cached = Cached(Flag())
    a = Sample(completion="yes", reference="1")
    b = Sample(completion="yes", reference="2")
    assert cached.key(a) != cached.key(b)
    assert cached.key(a) == cached.key(Sample(completion="yes", reference="1"))


@pytest.mark.parametrize(
    "wrap", [Isolated, Threaded, Cached], ids=["isolated", "threaded", "cached"]
)
def test_wrappers_pickle(wrap):
    copy = pickle.loads(pickle.dumps(wrap(Length())))
    assert copy.score([Sample(completion="abcde")])[0].value == 0.5


def _die_at_birth() -> None:
    os._exit(3)


def test_a_pool_whose_workers_cannot_start_reports_errors_instead_of_hanging(monkeypatch):
    from rewardsmith.runtime import executor as ex_mod

    # Workers that die at birth are respawned by pebble for ever, and a large batch used
    # to block on a full task pipe; the pool's initializer dies here.
    monkeypatch.setattr(ex_mod, "_mark_worker", _die_at_birth)
    monkeypatch.setattr(ex_mod, "STARTUP_GRACE_S", 2.0)
    ex = ProcessExecutor(1)
    start = time.monotonic()
    first = ex.map(_sleep_or_square, [(2,), (3,)], timeout=1.0)
    again = ex.map(_sleep_or_square, [(4,)], timeout=1.0)  # this call used to hang
    ex.close()
    assert [o.status for o in first + again] == [Status.ERROR] * 3
    assert {o.error.type for o in first + again} == {"WorkerStartError"}
    assert time.monotonic() - start < 30  # hang guard


def test_workers_never_import_the_main_script(monkeypatch):
    import sys

    # multiprocessing's own workers import the parent's main file; a missing one made
    # every worker die at birth (as `python - <<EOF` does)
    monkeypatch.setattr(
        sys.modules["__main__"], "__file__", "/nonexistent/script.py", raising=False
    )
    ex = ProcessExecutor(1)
    try:
        assert [o.value for o in ex.map(_sleep_or_square, [(3,)], timeout=5.0)] == [9]
    finally:
        ex.close()


_UNGUARDED = """
import rewardsmith

print("script body ran")
reward = rewardsmith.load("math.answer")
[score] = reward.score([rewardsmith.Sample(completion=r"$\\boxed{\\sqrt{8}}$", reference=r"2\\sqrt{2}")])
print("SCORE", score.value, score.status.value, score.info.get("tier"))
"""


def test_a_script_without_a_main_guard_scores_once(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "train.py"  # written as TRL's quick-start scripts are: no guard
    script.write_text(_UNGUARDED)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["script body ran", "SCORE 1.0 ok symbolic"]


_GUARDED_CUSTOM = """
import rewardsmith
from rewardsmith.core import ItemReward, Score
from rewardsmith.runtime import Isolated


class Shouting(ItemReward):
    name = "shouting"

    def score_one(self, sample):
        return Score(float(sample.text.isupper()))


if __name__ == "__main__":
    [score] = Isolated(Shouting(), timeout=30).score([rewardsmith.Sample(completion="HEY")])
    print("SCORE", score.value, score.status.value)
"""


def test_a_reward_defined_in_a_guarded_script_still_runs_isolated(tmp_path):
    import subprocess
    import sys

    # its class lives in __main__: the worker must import the script to unpickle it
    script = tmp_path / "custom.py"
    script.write_text(_GUARDED_CUSTOM)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["SCORE 1.0 ok"]


def test_the_cache_keys_on_tokens_and_the_step():
    from rewardsmith import load
    from rewardsmith.core import Tokens
    from rewardsmith.core.reward import set_step

    cached = Cached(load("length.overlong", max_tokens=100, cache_tokens=20))
    short = Sample(completion="x", tokens=Tokens(ids=list(range(10))))
    long = Sample(completion="x", tokens=Tokens(ids=list(range(96))))
    assert cached.score([short])[0].value == 0.0
    assert cached.score([long])[0].value == pytest.approx(-0.8)  # was the cached 0.0

    class Stepped(Length):
        def on_step(self, step: int) -> None:
            self.bonus = step

        def score_one(self, sample):
            return Score(float(getattr(self, "bonus", 0)))

    stepped = Cached(Stepped())
    assert stepped.score([Sample(completion="a")])[0].value == 0.0
    set_step(stepped, 3)
    assert stepped.score([Sample(completion="a")])[0].value == 3.0  # not step 0's score
