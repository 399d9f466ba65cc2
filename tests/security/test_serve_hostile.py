"""Hostile HTTP clients against the reward server (issue 15, items 2, 8, 9, 10, 14, 15, 16).

Each test is what a hostile or broken client did to the server, and what the server must
do instead. Behaviour at the connection level (slow clients, connection caps, request
heads) runs against a real uvicorn on loopback built as ``rewardsmith serve`` builds it
(``serve.run.server_config``); the rest runs against the app under a plain uvicorn. All
traffic goes to 127.0.0.1, and every loop is bounded in count and time.

What is defended, and what is not, is in the README's security section.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers_serve import Slow, running
from rewardsmith import ItemReward, Sample, Score
from rewardsmith.runtime import Threaded
from rewardsmith.serve import create_app
from rewardsmith.serve.limits import WorkerDied
from rewardsmith.serve.scoring import Scoring, process_pool, run_in_child

JSON = {"content-type": "application/json"}
YES = {"samples": [{"completion": "yes"}]}


def post(url: str, path: str, body: object, **kw: object) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {**JSON, **kw.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(url + path, content=content, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


@contextmanager
def served(app: object, **limits: object) -> Iterator[tuple[str, int]]:
    """Serve ``app`` as ``rewardsmith serve`` does (its protocol limits included), in a
    thread on a free loopback port; yield its URL and port."""
    from rewardsmith.serve.run import server_config

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(app, port=port, log_level="warning", **limits)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def closed_by_server(s: socket.socket, within_s: float) -> tuple[bool, bytes]:
    """Whether the server closes ``s`` within ``within_s`` (reading whatever it sends)."""
    got = b""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            return False, got
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def answer_head(s: socket.socket, within_s: float) -> bytes:
    """What the server sends on ``s`` until the end of its answer's head (or ``within_s``)."""
    got = b""
    end = time.monotonic() + within_s
    while b"\r\n\r\n" not in got and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        got += chunk
    return got


def head(path: str = "/score", length: int | None = None, host: str = "127.0.0.1") -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def wait_for(url: str, key: str, value: int, within_s: float) -> float:
    """Seconds until ``/health``'s ``key`` reads ``value``; fails past ``within_s``."""
    start = time.monotonic()
    while httpx.get(url + "/health", timeout=5).json()[key] != value:
        assert time.monotonic() - start < within_s, f"{key} did not reach {value} in {within_s}s"
        time.sleep(0.02)
    return time.monotonic() - start


# --- 2: cross-site requests -------------------------------------------------------------


def test_a_cross_site_form_post_is_refused() -> None:
    """A page in the operator's browser may POST text/plain (no preflight) to loopback."""
    with running(create_app(Slow())) as url:
        body = orjson.dumps(YES)
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            r = httpx.post(url + "/score", content=body, headers={"content-type": kind})
            assert r.status_code == 415, (kind, r.status_code)
            assert "application/json" in r.json()["error"]
        assert httpx.post(url + "/score", content=body).status_code == 415  # no type at all
        charset = {"content-type": "Application/JSON; charset=utf-8"}
        assert httpx.post(url + "/score", content=body, headers=charset).status_code == 200
        assert httpx.post(url + "/get_reward", json={"query": ["q"], "prompts": ["q"]}).is_success


def test_a_foreign_host_is_refused_against_dns_rebinding() -> None:
    """A rebound name (evil.example resolving to 127.0.0.1) reaches the server with its
    own name in Host: refused on every route, /health included."""
    with running(create_app(Slow(), allowed_hosts=["rewards.internal"])) as url:
        port = url.rsplit(":", 1)[1]
        evil = {"host": f"evil.example:{port}"}
        assert post(url, "/score", YES, headers=evil).status_code == 400
        for path in ("/rewards", "/metrics", "/health", "/openapi.json"):
            r = httpx.get(url + path, headers=evil)
            assert r.status_code == 400 and "Host" in r.json()["error"], path
        for good in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            "localhost",
            "[::1]:1",
            "rewards.internal",
        ):
            assert post(url, "/score", YES, headers={"host": good}).status_code == 200, good


def test_a_browser_request_from_another_site_is_refused() -> None:
    with running(create_app(Slow())) as url:
        foreign = post(url, "/score", YES, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403 and "Origin" in foreign.json()["error"]
        assert post(url, "/score", YES, headers={"origin": "null"}).status_code == 403
        assert post(url, "/score", YES, headers={"origin": url}).status_code == 200


# --- 8: memory ----------------------------------------------------------------------------


def test_a_body_of_many_tiny_items_is_refused_before_it_is_parsed() -> None:
    """2.2 MB of empty samples parse into ~150 MB of objects (64x): the estimate of what a
    body becomes once parsed, not its bytes, is what the budget holds."""
    tiny = b'{"completion":""},' * 120_000
    body = b'{"samples":[' + tiny + b'{"completion":""}]}'
    app = create_app(Slow(), max_pending_bytes=64 << 20, max_body_bytes=8 << 20)
    with running(app) as url:
        r = post(url, "/score", body)
        assert r.status_code == 413, r.status_code
        assert "once parsed" in r.json()["error"]
        assert post(url, "/score", YES).status_code == 200
        assert httpx.get(url + "/health").json()["admitted"] == 0


def test_bodies_still_being_read_count_against_the_budget() -> None:
    """Clients that send most of a body and hold back the rest used to hold memory the
    budget did not see; now the bytes read so far are counted while reading."""
    app = create_app(Slow(), max_pending_bytes=2_500_000)
    part = b'{"samples":[{"completion":"' + b"x" * 200_000  # estimated at ~1 MB
    with running(app) as url:
        port = int(url.rsplit(":", 1)[1])
        holders = []
        try:
            for _ in range(2):
                s = connect(port)
                s.sendall(head(length=len(part) + 100) + part)  # 100 bytes never come
                holders.append(s)
            deadline = time.monotonic() + 5
            while httpx.get(url + "/health").json()["pending_bytes"] < 2_000_000:
                assert time.monotonic() < deadline, "the bodies being read are not counted"
                time.sleep(0.02)
            third = connect(port)
            holders.append(third)
            third.sendall(head(length=len(part) + 100) + part)
            answer = answer_head(third, 3.0)
            assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
            assert post(url, "/score", YES).status_code == 200  # a small batch still fits
        finally:
            for s in holders:
                s.close()


# --- 9: slow clients -----------------------------------------------------------------------


def test_a_client_that_sends_nothing_or_drips_its_head_is_cut_off() -> None:
    with served(create_app(Slow()), header_timeout_s=1.0) as (url, port):
        silent = connect(port)
        drip = connect(port)
        drip.sendall(b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        start = time.monotonic()
        cut = False
        for i in range(40):  # one header line every 0.1 s, up to 4 s
            try:
                drip.sendall(f"x-drip-{i}: 1\r\n".encode())
            except OSError:
                cut = True
                break
            time.sleep(0.1)
        assert cut or closed_by_server(drip, 0.5)[0], "a dripping head was never cut off"
        assert time.monotonic() - start < 3.0
        assert closed_by_server(silent, 1.0)[0], "a silent connection was never closed"
        assert httpx.get(url + "/health").status_code == 200
        silent.close()
        drip.close()


def test_a_client_that_drips_its_body_gets_408() -> None:
    with served(create_app(Slow(), body_timeout_s=1.0)) as (url, port):
        s = connect(port)
        s.sendall(head(length=1000) + b'{"samples": [')
        start = time.monotonic()
        answer = b""
        for _ in range(40):  # one byte every 0.1 s, up to 4 s
            try:
                s.sendall(b" ")
            except OSError:
                break
            closed, got = closed_by_server(s, 0.1)
            answer += got
            if closed or answer:
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        assert time.monotonic() - start < 3.0
        assert httpx.get(url + "/health").json()["admitted"] == 0
        s.close()


def test_connections_past_the_cap_are_refused_and_open_ones_keep_working() -> None:
    """Held-open connections used to pile up without limit and starve /health."""
    app = create_app(Slow())
    with (
        served(app, max_connections=20, header_timeout_s=2.0) as (url, port),
        httpx.Client(timeout=5) as trainer,
    ):  # a kept-alive connection from before the flood
        assert trainer.get(url + "/health").status_code == 200
        flood = []
        try:
            for _ in range(40):
                flood.append(connect(port))
            time.sleep(0.3)
            refused = sum(closed_by_server(s, 0.02)[0] for s in flood)
            assert refused >= 20, refused  # 19 flood connections + the trainer's are in
            assert trainer.get(url + "/health").status_code == 200  # still served
            assert trainer.post(url + "/score", json=YES).status_code == 200
            time.sleep(2.5)  # the idle ones are cut off after header_timeout_s
            assert httpx.get(url + "/health", timeout=5).status_code == 200
        finally:
            for s in flood:
                s.close()


def test_an_endless_request_head_is_refused() -> None:
    """httptools puts no bound on a header: 133 MB went into one in 20 s."""
    with served(create_app(Slow()), max_head_bytes=64 * 1024) as (url, port):
        s = connect(port)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-big: ")
        sent = 0
        try:
            for _ in range(200):  # up to 50 MB
                s.sendall(b"a" * 256 * 1024)
                sent += 256 * 1024
        except OSError:
            pass
        closed, answer = closed_by_server(s, 2.0)
        assert sent <= 8 << 20, sent
        assert closed and (answer == b"" or answer.startswith(b"HTTP/1.1 431")), answer[:80]
        s.close()
        assert httpx.get(url + "/health").status_code == 200


# --- 10: abandoned batches -----------------------------------------------------------------


@pytest.mark.parametrize("threads", [0, 2], ids=["plain", "threaded"])
def test_an_abandoned_batch_stops_in_the_threads(threads: int) -> None:
    """20 items of 0.5 s: the 504 came at 0.5 s but the slot was held 10 s (5 s on two
    threads of the reward's own)."""
    reward = Threaded(Slow(), threads=threads) if threads else Slow()
    with running(create_app(reward, max_concurrency=1, request_timeout_s=0.5)) as url:
        batch = {"samples": [{"completion": "yes", "meta": {"sleep": 0.5}}] * 20}
        r = post(url, "/score", batch)
        assert r.status_code == 504
        freed = wait_for(url, "admitted", 0, within_s=3.0)
        assert post(url, "/score", YES).json()["scores"][0]["value"] == 1.0
    print(f"\nthreads: slot back {freed:.2f} s after the 504")


class Pid(ItemReward):
    """``Slow``, and the scoring process's pid in ``info``."""

    name = "test.pid"

    def score_one(self, sample: Sample) -> Score:
        time.sleep(float(sample.meta.get("sleep", 0)))
        return Score(1.0, info={"pid": os.getpid()})


def _pid(url: str) -> int:
    r = post(url, "/score", YES)
    assert r.status_code == 200, r.text
    return int(r.json()["scores"][0]["info"]["pid"])


def test_a_runaway_batch_in_a_child_is_killed_and_replaced() -> None:
    """A batch of a sleeping program used to keep its scoring process for 10 min. Its
    child alone is killed: the batch beside it, in the other child, is answered."""
    app = create_app(Pid(), score_processes=2, max_concurrency=2, request_timeout_s=2.0)
    with running(app) as url, ThreadPoolExecutor(1) as pool:
        children = app.state.rewardsmith.admission.pool
        before = set(children.pids())
        start = time.monotonic()
        beside = pool.submit(
            post, url, "/score", {"samples": [{"completion": "x", "meta": {"sleep": 1.0}}]}
        )
        r = post(url, "/score", {"samples": [{"completion": "x", "meta": {"sleep": 600}}]})
        assert r.status_code == 504
        assert beside.result(20).status_code == 200
        wait_for(url, "admitted", 0, within_s=5.0)  # the slot is back: the child was killed
        for _ in range(100):  # up to 15 s for a new child to load
            if len(set(children.pids()) - before) == 1 and None not in children.pids():
                break
            assert time.monotonic() - start < 15
            time.sleep(0.1)
        assert len(set(children.pids()) & before) == 1  # the other child is untouched
        replaced = time.monotonic() - start
        for _ in range(4):  # both children serve
            assert _pid(url) in children.pids()
    print(f"\nprocesses: a new child in place {replaced:.2f} s after the batch arrived")


def test_a_batch_that_waited_for_a_slot_is_not_killed_at_once() -> None:
    """fd5e6b2 (reverted) counted the wait for a slot: a batch that waited long was killed
    the moment its child got it. A child is killed only after its batch ran for
    request_timeout_s itself; an abandoned batch that was waiting never starts."""
    app = create_app(Pid(), score_processes=1, max_concurrency=2, request_timeout_s=2.0)
    with running(app) as url, ThreadPoolExecutor(2) as pool:
        first = _pid(url)
        slow = {"samples": [{"completion": "x", "meta": {"sleep": 1.5}}]}
        a = pool.submit(post, url, "/score", slow)
        wait_for(url, "running", 1, within_s=5)
        b = pool.submit(
            post, url, "/score", {"samples": [{"completion": "x", "meta": {"sleep": 1}}]}
        )
        assert a.result(20).status_code == 200
        assert b.result(20).status_code == 504  # waited 1.5 s, then ran past its 2 s
        assert wait_for(url, "admitted", 0, within_s=5) < 5
        assert _pid(url) == first  # the same child: nothing was killed


class LoadsSlowly(Pid):
    """Every copy after the first takes 2.5 s to load (more than the request timeout) and
    leaves a mark in ``marks``."""

    def __init__(self, marks: Path) -> None:
        self.marks = marks

    def __setstate__(self, state: dict[str, Path]) -> None:
        self.__dict__.update(state)
        loaded = list(self.marks.iterdir())
        if loaded:
            time.sleep(2.5)
        (self.marks / f"{len(loaded)}-{os.getpid()}").touch()


def test_a_replacement_child_that_loads_slowly_is_not_killed_over_and_over(
    tmp_path: Path,
) -> None:
    app = create_app(LoadsSlowly(tmp_path), score_processes=1, request_timeout_s=1.0)
    with running(app) as url:
        start = time.monotonic()
        r = post(url, "/score", {"samples": [{"completion": "x", "meta": {"sleep": 600}}]})
        assert r.status_code == 504
        served_again = False
        for _ in range(100):  # requests while the new child loads get 504; none kills it
            if post(url, "/score", YES).status_code == 200:
                served_again = True
                break
            assert time.monotonic() - start < 20
        assert served_again
        assert len(list(tmp_path.iterdir())) == 2  # the first child and one replacement


def _die_mid_answer(deadline: float) -> None:
    """In a scoring process: start an answer of 1 MiB, send 100 KB of it, and die."""
    from rewardsmith.serve import scoring

    os.write(scoring._ANSWERS[0].fileno(), struct.pack("!i", 1 << 20) + b"x" * 100_000)
    os._exit(1)


def test_a_child_that_dies_halfway_through_an_answer_fails_that_batch_alone() -> None:
    """fd5e6b2 (reverted) could leave its pool's futures pending for good when a child
    died while sending an answer over 64 KB."""
    pool = process_pool(Scoring(Pid()), 1, 30.0)()
    pool.start()
    try:
        first = pool.pids()[0]
        with pytest.raises(WorkerDied):
            pool.submit(_die_mid_answer, time.monotonic() + 30).result(timeout=30)
        work = partial(run_in_child, "score", orjson.dumps(YES), None)
        answer, _ = pool.submit(work, time.monotonic() + 30).result(timeout=60)
        assert orjson.loads(answer)["scores"][0]["info"]["pid"] not in (first, None)
    finally:
        pool.stop(5.0)


# --- 14, 15, 16: docs, disconnects, hostile JSON ------------------------------------------


def test_the_api_documents_need_the_token() -> None:
    with running(create_app(Slow(), token="s3cret")) as url:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert httpx.get(url + path).status_code == 401, path
            bearer = {"authorization": "Bearer s3cret"}
            assert httpx.get(url + path, headers=bearer).status_code == 200, path


def test_a_client_that_disconnects_mid_body_logs_one_debug_line() -> None:
    """10k disconnects wrote 47 MB of tracebacks."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "rewardsmith.serve")]
    with running(create_app(Slow())) as url:
        port = int(url.rsplit(":", 1)[1])
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.addHandler(handler)
            lg.setLevel(logging.DEBUG)
        try:
            for _ in range(3):
                s = connect(port)
                s.sendall(head(length=1000) + b'{"samples": [')
                time.sleep(0.2)
                s.close()
            time.sleep(0.5)
            assert httpx.get(url + "/health").status_code == 200
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.removeHandler(handler)
                lg.setLevel(level)
    assert not [r for r in records if r.exc_info or r.levelno >= logging.WARNING], [
        r.getMessage() for r in records
    ]
    gone = [r for r in records if "disconnected" in r.getMessage()]
    assert len(gone) == 3 and all(r.levelno == logging.DEBUG for r in gone)


DEEP = b'{"samples": [{"completion": "a", "reference": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
NON_FINITE = [
    b'{"samples": [{"completion": "a", "reference": NaN}]}',
    b'{"samples": [{"completion": "a", "meta": {"x": Infinity}}]}',
    b'{"samples": [{"response": "a", "label": -Infinity}]}',
    b'{"samples": [{"completion": "a", "reference": 1e999}]}',
]


def test_deep_nesting_and_non_finite_numbers_are_400() -> None:
    with running(create_app(Slow())) as url:
        r = post(url, "/score", DEEP)
        assert r.status_code == 400, r.status_code
        for body in NON_FINITE:
            r = post(url, "/score", body)
            assert r.status_code == 400 and "not valid JSON" in r.json()["error"], body
        nan = b'{"query": ["q"], "prompts": ["q"], "labels": [NaN]}'
        assert post(url, "/get_reward", nan).status_code == 400
        words = {"samples": [{"completion": "NaN and Infinity, 1e999 as words", "reference": "1"}]}
        assert post(url, "/score", words).status_code == 200
