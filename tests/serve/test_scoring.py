"""Scoring processes (``create_app(score_processes=N)``): the same answers as the server's
threads, errors that cross the process boundary intact, and a child that dies replaced."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import orjson
import pytest

from helpers_serve import Slow, free_port, running, serve_cli, stop
from rewardsmith import ItemReward, Sample, Score, set_strict
from rewardsmith.cli.score import bundled_rollouts
from rewardsmith.client import encode_samples
from rewardsmith.core import Schedule
from rewardsmith.core.reward import is_strict
from rewardsmith.rollouts import FieldMap
from rewardsmith.serve import create_app
from rewardsmith.serve.scoring import ChildStartError, Scoring, process_pool, run_in_child
from rewardsmith.shaping.schedules import Linear

JSON = {"content-type": "application/json"}
RECORDS = [orjson.loads(line) for line in Path(bundled_rollouts()).read_bytes().splitlines()]


class Dies(ItemReward):
    """Ends its process on ``die`` (as a segfaulting checker would); else like ``Slow``."""

    name = "test.dies"

    def score_one(self, sample: Sample) -> Score | float:
        if "die" in sample.text:
            os._exit(3)
        return Slow().score_one(sample)


class TwoArgError(Exception):
    """An exception that pickle cannot rebuild from its args (as MissingExtraError)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


class Breaks(Dies):
    """Breaks its contract on ``break``: the exception escapes ``score``."""

    name = "test.breaks"

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        if any("break" in s.text for s in samples):
            raise TwoArgError("checker", "broke")
        return super().score(samples)


class Locked(Slow):
    """A reward that cannot be pickled."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def _items(url: str) -> dict[str, float]:
    """``rewardsmith_items_total`` by its labels, from ``/metrics``."""
    out = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("rewardsmith_items_total{"):
            labels, _, value = line.partition(" ")
            out[labels] = float(value)
    return out


def test_processes_answer_exactly_as_threads_do() -> None:
    """/score and /get_reward give byte-identical answers; the metrics count the same."""
    batch = encode_samples([FieldMap().sample(r) for r in RECORDS], step=3)
    openrlhf = {
        "query": [r["prompt"] + r["completion"] for r in RECORDS],
        "prompts": [r["prompt"] for r in RECORDS],
        "labels": [r["reference"] for r in RECORDS],
    }
    answers = {}
    for processes in (0, 1):
        with running(create_app("math-r1", score_processes=processes)) as url:
            score = httpx.post(url + "/score", content=batch, headers=JSON, timeout=60)
            reward = httpx.post(url + "/get_reward", json=openrlhf, timeout=60)
            assert score.status_code == reward.status_code == 200
            assert httpx.get(url + "/health").json()["score_processes"] == processes
            answers[processes] = (score.content, reward.content, _items(url))
    assert answers[1] == answers[0]
    scores = orjson.loads(answers[1][0])["scores"]
    assert len(scores) == len(RECORDS) and {s["value"] for s in scores} == {0.0, 1.0}


class SlowToLoad(Slow):
    """The second copy of it to be unpickled takes 2 s (a child loading slowly); each copy
    leaves a file named by its pid in ``marks`` once loaded."""

    def __init__(self, marks: Path) -> None:
        self.marks = marks

    def __setstate__(self, state: dict[str, Path]) -> None:
        self.__dict__.update(state)
        try:
            os.close(os.open(self.marks / "first", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            time.sleep(2)
        (self.marks / str(os.getpid())).touch()


def test_the_server_answers_once_every_scoring_process_has_its_reward(tmp_path: Path) -> None:
    with running(create_app(SlowToLoad(tmp_path), score_processes=2)) as url:
        loaded = sorted(p.name for p in tmp_path.iterdir() if p.name != "first")
        assert len(loaded) == 2, "the first child answered for both"
        assert (
            httpx.post(url + "/score", json={"samples": [{"completion": "yes"}]}).json()["scores"][
                0
            ]["value"]
            == 1.0
        )


class FailsToLoad(Slow):
    """Cannot be loaded in a child (a checker whose library is missing there)."""

    def __init__(self) -> None:
        self.library = "missing"  # a state to load (pickle skips an empty one)

    def __setstate__(self, state: dict[str, object]) -> None:
        raise ImportError("no such library")


def test_a_child_that_cannot_load_fails_startup_and_leaves_no_child() -> None:
    app = create_app(FailsToLoad(), score_processes=2)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(ChildStartError, match="ImportError: no such library"):
        asyncio.run(start())
    deadline = time.monotonic() + 20
    while any(_is_scorer(c) for c in _children(os.getpid()) if not _gone(c)):
        assert time.monotonic() < deadline, "a scoring process was left"
        time.sleep(0.1)


def test_strict_mode_reaches_the_scoring_processes() -> None:
    """In strict mode an item's exception escapes the reward: a 500 from a child too."""
    before = is_strict()
    set_strict(True)
    try:
        for processes in (0, 1):
            with running(create_app(Slow(), score_processes=processes)) as url:
                boom = httpx.post(url + "/score", json={"samples": [{"completion": "boom"}]})
                assert boom.status_code == 500, processes
    finally:
        set_strict(before)
    with running(create_app(Slow(), score_processes=1)) as url:  # an error item, as usual
        boom = httpx.post(url + "/score", json={"samples": [{"completion": "boom"}]})
        assert boom.json()["scores"][0]["status"] == "error"


@pytest.fixture(scope="module")
def dying_url() -> object:
    with running(create_app(Breaks(), score_processes=1, request_timeout_s=30)) as url:
        yield url


def test_bad_bodies_answer_the_same_from_a_process(dying_url: str) -> None:
    """BadRequest crosses the process boundary with its status and every problem."""
    with running(create_app(Dies())) as threads:
        for body in (b"{not json", b'{"samples": [{"prompt": 1}]}', b'{"samples": 3}'):
            here = httpx.post(threads + "/score", content=body, headers=JSON)
            there = httpx.post(dying_url + "/score", content=body, headers=JSON)
            assert there.status_code == here.status_code and there.status_code in (400, 422)
            assert there.json() == here.json()


def test_a_scoring_process_that_dies_fails_its_batch_and_is_replaced(dying_url: str) -> None:
    def score(text: str) -> httpx.Response:
        return httpx.post(
            dying_url + "/score", json={"samples": [{"completion": text}]}, timeout=30
        )

    assert score("yes").json()["scores"][0]["value"] == 1.0
    died = score("die")
    assert died.status_code == 500
    assert "scoring process died" in died.json()["error"]
    assert score("break").json()["error"] == "RuntimeError: TwoArgError: checker: broke"
    for _ in range(2):  # a new process takes the next batches
        again = score("yes")
        assert again.status_code == 200 and again.json()["scores"][0]["value"] == 1.0
    assert score("boom").json()["scores"][0]["status"] == "error"  # item errors stay data
    assert httpx.get(dying_url + "/health").json()["running"] == 0


def test_processes_need_a_reward_that_pickles() -> None:
    with pytest.raises(ValueError, match="pickles"):
        create_app(Locked(), score_processes=1)
    with pytest.raises(ValueError, match=">= 0"):
        create_app(Slow(), score_processes=-1)
    create_app(Locked())  # threads take any reward


def _pipes_widen() -> bool:
    """Whether this user may give a pipe 1 MiB (not past pipe-max-size or the quota)."""
    read, write = os.pipe()
    try:
        return fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1 << 20) >= 1 << 20
    except OSError:
        return False
    finally:
        os.close(read)
        os.close(write)


@pytest.mark.skipif(not _pipes_widen(), reason="this user's pipes cannot hold 1 MiB")
def test_a_whole_body_fits_in_the_pipe_to_a_scoring_process() -> None:
    pool = process_pool(Scoring(Slow()), 1, 60.0)()
    try:
        pool.start()
        calls = pool._children[0].calls.fileno()  # type: ignore[union-attr]
        assert fcntl.fcntl(calls, fcntl.F_GETPIPE_SZ) == 1 << 20
        work = partial(run_in_child, "score", b'{"samples": [{"completion": "yes"}]}', None)
        answer, _ = pool.submit(work, time.monotonic() + 60).result(timeout=60)
        assert orjson.loads(answer)["scores"][0]["value"] == 1.0  # the child reads that pipe
    finally:
        pool.stop(5.0)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(c) for t in tasks for c in (t / "children").read_text().split()]


def _is_scorer(pid: int) -> bool:
    return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()


def _gone(pid: int) -> bool:
    try:  # a child killed after its parent may linger as a zombie of init: ended too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_scoring_processes_end_with_the_server(sig: signal.Signals) -> None:
    """No orphan left waiting for work: uvicorn re-raises SIGTERM after its shutdown and
    SIGKILL skips everything, so the kernel ends the children (PR_SET_PDEATHSIG)."""
    port = free_port()
    proc = serve_cli(port, "--score-processes", "2")
    try:
        children = _children(proc.pid)  # the two scorers and multiprocessing's resource tracker
        assert len([c for c in children if _is_scorer(c)]) == 2, children
        body = {"samples": [{"completion": "<think>1</think><answer>2</answer>", "reference": "2"}]}
        score = httpx.post(f"http://127.0.0.1:{port}/score", json=body, timeout=30).json()
        assert score["scores"][0]["value"] == 1.0
        proc.send_signal(sig)
        proc.wait(30)
        deadline = time.monotonic() + 15
        while not all(_gone(c) for c in children):
            assert time.monotonic() < deadline, [c for c in children if not _gone(c)]
            time.sleep(0.05)
    finally:
        stop(proc)


def test_shutdown_kills_a_child_stuck_in_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch past its deadline keeps its child busy; stopping the server waits for it
    only ``_CHILD_EXIT_S``, then kills it."""
    monkeypatch.setattr("rewardsmith.serve.app._CHILD_EXIT_S", 0.5)
    replies: list[httpx.Response] = []
    others = set(_children(os.getpid()))  # another app's scorers may be running
    with running(create_app(Slow(), score_processes=1, request_timeout_s=0.5)) as url:
        scorers = [c for c in _children(os.getpid()) if c not in others and _is_scorer(c)]
        body = {"samples": [{"completion": "yes", "meta": {"sleep": 60}}]}
        replies.append(httpx.post(url + "/score", json=body, timeout=30))
        start = time.monotonic()
    assert replies[0].status_code == 504
    assert time.monotonic() - start < 10  # not the 60 s of the batch
    assert len(scorers) == 1 and _gone(scorers[0])


def test_every_scoring_process_follows_the_last_step() -> None:
    """A batch that names no step scores at the last step any batch named, whichever
    child gets it (each child has its own copy of the schedule)."""
    reward = Schedule(Slow(), Linear(start=1.0, end=0.0, steps=10))
    with running(create_app(reward, score_processes=2)) as url:

        def score(step: int | None = None) -> list[float]:
            body: dict[str, object] = {"samples": [{"completion": "yes", "meta": {"sleep": 0.2}}]}
            if step is not None:
                body["step"] = step
            r = httpx.post(url + "/score", json=body, timeout=30)
            return [s["value"] for s in r.json()["scores"]]

        assert score(5) == [0.5]
        with ThreadPoolExecutor(4) as pool:  # both children get some of these
            later = list(pool.map(lambda _: score(), range(8)))
        assert later == [[0.5]] * 8


def test_a_forwarded_step_never_moves_a_schedule_back() -> None:
    """``last_step`` was read when its batch arrived; a batch that named a newer step may
    have been scored since (in the thread mode, on the same reward), so it cannot undo it."""
    scoring = Scoring(Schedule(Slow(), Linear(start=1.0, end=0.0, steps=10)))

    def value(body: dict[str, object], last_step: int | None = None) -> float:
        answer, _ = scoring.run("score", orjson.dumps(body), last_step)
        return float(orjson.loads(answer)["scores"][0]["value"])

    yes: dict[str, object] = {"samples": [{"completion": "yes"}]}
    assert value(yes, last_step=2) == pytest.approx(0.8)  # a fresh child catches up
    assert value({**yes, "step": 7}) == pytest.approx(0.3)
    assert value(yes, last_step=5) == pytest.approx(0.3)  # stale: kept at 7
    assert value({**yes, "step": 1}) == pytest.approx(0.9)  # a named step always applies


class _Waits(ItemReward):
    name = "test.waits"
    work = "io"

    def score_one(self, sample: Sample) -> float:
        return 1.0


def test_auto_picks_processes_only_for_all_cpu_trees() -> None:
    from rewardsmith import load_spec
    from rewardsmith.serve.scoring import auto_processes

    assert auto_processes(load_spec("math-r1"), cpus=2) == 2
    assert auto_processes(load_spec("math-r1"), cpus=64) == 8
    assert auto_processes(load_spec("math-r1") + _Waits(), cpus=2) == 0
    with running(create_app("math-r1", score_processes="auto")) as url:
        health = httpx.get(url + "/health").json()
    assert health["score_processes"] == auto_processes(load_spec("math-r1"))
    with running(create_app(_Waits(), score_processes="auto")) as url:
        assert httpx.get(url + "/health").json()["score_processes"] == 0
    with pytest.raises(ValueError, match="auto"):
        create_app("math-r1", score_processes="many")  # type: ignore[arg-type]
