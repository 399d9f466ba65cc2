"""HTTP overhead of the reward server: items/s through ``POST /score`` vs in-process.

Baseline: the same spec (``math-r1``) scoring the same batches of 256 bundled rollouts
in this process (``reward.score(samples)``, samples already built). Server:
``rewardsmith serve`` in its own process(es) on loopback, fed by this process with
``concurrency`` requests in flight, each batch encoded as a client would (JSON from the
rollout records) and each answer decoded. A second in-process row builds the Samples from
the records for every batch, as the CLI and the trainer adapters do.

The modes take turns in short slices, round after round, and each mode is compared with
the baseline slice of its own round; the table shows the median of those paired ratios,
so the machine's load drifting over the run (other tenants of a shared host) weighs on
both sides of every ratio alike. On a shared 2-core VM one 0.3 s slice can run 20% faster
or slower than the next, so the table also gives a 95% bootstrap interval of the wall
ratio's median (about +-2 points with the defaults).

Two ratios (target: the server at >= 80% of in-process at batch 256):

- ``wall``: items/s over the wall clock, client and server sharing the machine's cores;
- ``cpu``: in-process CPU seconds per batch / server CPU seconds per batch (all server
  processes, from ``/proc``): the server's capacity when it has a core to itself,
  independent of what else runs on the machine.

``--tune-baseline`` gives the in-process baseline the server's own process tuning
(``rewardsmith.serve.run.tune_process``: frozen startup objects, malloc kept, a 20 ms
GIL switch interval), so the ratios show the HTTP path alone.

``--other-tree DIR`` serves the same spec from another source tree as well (``git
worktree add DIR <commit>``), in the same rounds: a before/after comparison that the
machine's drift cannot skew.

Usage: python benchmarks/serve_bench.py [--seconds 1] [--rounds 40] [--concurrency 1 2]
       [--http-processes 1] [--score-processes 1 2] [--tune-baseline] [--other-tree DIR]
       (defaults shown; about 6 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson


def _records() -> list[dict[str, object]]:
    from rewardsmith.cli.score import bundled_rollouts

    return [orjson.loads(line) for line in Path(bundled_rollouts()).read_bytes().splitlines()]


def _batch(records: list[dict[str, object]], size: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    while len(out) < size:
        out += records[: size - len(out)]
    return out


def _native(record: dict[str, object]) -> dict[str, object]:
    """A rollout record in the server's Sample form (extra columns into ``meta``)."""
    known = ("prompt", "completion", "reference", "group", "data_source")
    return {
        **{k: record[k] for k in known if k in record},
        "meta": {k: v for k, v in record.items() if k not in known},
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@dataclass
class Mode:
    """One row of the table: per round, its rate and CPU per batch; its batch latencies."""

    name: str
    url: str = ""
    concurrency: int = 1
    pid: int = 0
    encode_each: bool = True
    rates: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    cpu_per_batch: list[float] = field(default_factory=list)
    reward_ms: list[float] = field(default_factory=list)
    """Per round, the server's time in the reward per batch (its /metrics)."""

    def add(self, times: list[float], batch: int, wall: float, cpu: float) -> None:
        self.rates.append(len(times) * batch / wall)
        self.times += times
        self.cpu_per_batch.append(cpu / max(1, len(times)))

    def ratios(self, base: Mode) -> tuple[float, float, tuple[float, float]]:
        """Median over rounds of this mode's wall and CPU ratios to the baseline's round,
        and a 95% bootstrap interval of the wall median."""
        wall = [m / b for m, b in zip(self.rates, base.rates, strict=True)]
        cpu = [b / m for m, b in zip(self.cpu_per_batch, base.cpu_per_batch, strict=True)]
        return statistics.median(wall), statistics.median(cpu), _interval(wall)


def _interval(values: list[float], draws: int = 2000) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median of ``values`` (seeded)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


def in_process(
    reward: Any, make: Callable[[], list[Any]], seconds: float
) -> tuple[list[float], float]:
    """Per-batch times of ``reward.score(make())`` for ``seconds``, and the CPU used."""
    times: list[float] = []
    cpu = time.process_time()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        samples = make()
        scores = reward.score(samples)
        times.append(time.perf_counter() - start)
    assert len(scores) == len(samples)
    return times, time.process_time() - cpu


async def over_http(
    url: str,
    batch: list[dict[str, object]],
    seconds: float,
    concurrency: int,
    encode_each: bool = True,
) -> tuple[list[float], float]:
    """Per-request times with ``concurrency`` in flight for ``seconds``, and the wall time.

    ``encode_each=False`` sends one body encoded in advance: the server's own overhead,
    without the client's JSON encoding of each batch.
    """
    times: list[float] = []
    once = orjson.dumps({"samples": [_native(r) for r in batch]})

    async def worker(client: httpx.AsyncClient, end: float) -> None:
        while time.perf_counter() < end:
            start = time.perf_counter()
            body = orjson.dumps({"samples": [_native(r) for r in batch]}) if encode_each else once
            response = await client.post(url + "/score", content=body)
            response.raise_for_status()
            scores = orjson.loads(response.content)["scores"]
            times.append(time.perf_counter() - start)
            assert len(scores) == len(batch)

    async with httpx.AsyncClient(timeout=60, headers={"content-type": "application/json"}) as c:
        start = time.perf_counter()
        await asyncio.gather(*(worker(c, start + seconds) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return times, wall


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(
    spec: str, port: int, http_processes: int, extra: list[str], tree: Path | None = None
) -> subprocess.Popen[bytes]:
    """``rewardsmith serve`` on ``port``; from the source tree ``tree`` when given."""
    cmd = [sys.executable, "-m", "rewardsmith", "serve", "--spec", spec, "--port", str(port)]
    cmd += ["--http-processes", str(http_processes), *extra]
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spec", default="math-r1")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=1.0, help="per mode and round")
    parser.add_argument("--rounds", type=int, default=40, help="modes take turns; paired")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--http-processes", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--score-processes",
        type=int,
        nargs="+",
        default=[1, 2],
        help="also serve with `--score-processes N` (2 in flight), for each N; 0 for none",
    )
    parser.add_argument(
        "--tune-baseline", action="store_true", help="tune_process() in this process too"
    )
    parser.add_argument(
        "--server-args", default="", help="more `rewardsmith serve` options, one string"
    )
    parser.add_argument(
        "--other-tree",
        type=Path,
        help="also serve from this source tree (a git worktree of another commit), beside",
    )
    args = parser.parse_args()

    from rewardsmith import load_spec
    from rewardsmith.rollouts import FieldMap

    batch = _batch(_records(), args.batch)
    reward = load_spec(args.spec)
    samples = [FieldMap().sample(r) for r in batch]
    reward.score(samples)  # warm up: worker pools, caches
    if args.tune_baseline:
        from rewardsmith.serve.run import tune_process

        tune_process()
    fields = FieldMap()
    base = Mode("in-process reward.score")
    built = Mode("in-process, Samples built each batch")
    server_side: dict[str, float] = {}
    modes = [base, built]
    servers = []
    try:
        for w in args.http_processes:
            port = _free_port()
            server = _start_server(args.spec, port, w, args.server_args.split())
            servers.append(server)
            url = f"http://127.0.0.1:{port}"
            for c in args.concurrency:
                name = f"HTTP /score, {c} in flight" + (f", {w} HTTP processes" if w > 1 else "")
                modes.append(Mode(name, url, c, server.pid))
            if w == 1:
                modes.append(Mode("HTTP /score, 1 in flight, body once", url, 1, server.pid, False))
        for n in (n for n in args.score_processes if n > 0):
            port = _free_port()
            extra = [*args.server_args.split(), "--score-processes", str(n)]
            server = _start_server(args.spec, port, 1, extra)
            servers.append(server)
            name = f"HTTP /score, 2 in flight, {n} scoring process" + ("es" if n > 1 else "")
            modes.append(Mode(name, f"http://127.0.0.1:{port}", 2, server.pid))
        if args.other_tree:
            port = _free_port()
            server = _start_server(args.spec, port, 1, args.server_args.split(), args.other_tree)
            servers.append(server)
            for c in args.concurrency:
                name = f"HTTP /score, {c} in flight, {args.other_tree.name}"
                modes.append(Mode(name, f"http://127.0.0.1:{port}", c, server.pid))
        for _ in range(args.rounds):
            for m, make in (
                (base, lambda: samples),
                (built, lambda: [fields.sample(r) for r in batch]),
            ):
                start = time.perf_counter()
                times, cpu = in_process(reward, make, args.seconds)
                m.add(times, len(batch), time.perf_counter() - start, cpu)
            for m in modes[2:]:
                asyncio.run(over_http(m.url, batch, 0.05, m.concurrency))  # fill; not counted
                before = _metrics(m.url, m.pid)
                run = over_http(m.url, batch, args.seconds, m.concurrency, m.encode_each)
                times, wall = asyncio.run(run)
                after = _metrics(m.url, m.pid)
                m.add(times, len(batch), wall, after["cpu"] - before["cpu"])
                batches = max(1.0, after["count"] - before["count"])
                m.reward_ms.append(1000 * (after["reward"] - before["reward"]) / batches)
                if not m.encode_each:  # one request at a time: the server's own breakdown
                    for k in after:
                        server_side[k] = server_side.get(k, 0.0) + after[k] - before[k]
    finally:
        for server in servers:
            server.terminate()
            server.wait(30)

    print(
        f"spec {args.spec}, batch {args.batch}, {os.cpu_count()} CPUs, {args.rounds} rounds x "
        f"{args.seconds:g} s per mode, ratios: median over rounds of each round's ratio"
        + (", baseline tuned" if args.tune_baseline else "")
        + (f", server: {args.server_args}" if args.server_args else "")
    )
    header = f"{'mode':<44} {'items/s':>8} {'wall':>5} {'95% interval':>12} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/batch':>13} {'cpu':>5}"
    print(header)
    for m in modes:
        wall, cpu, (low, high) = m.ratios(base)
        print(
            f"{m.name:<44} {statistics.median(m.rates):>8.0f} {wall:>5.0%} "
            f"{f'{low:.0%}-{high:.0%}':>12} "
            f"{1000 * statistics.median(m.times):>7.1f} {1000 * _percentile(m.times, 0.99):>7.1f} "
            f"{1000 * statistics.median(m.cpu_per_batch):>13.1f} {cpu:>5.0%}"
        )
    in_reward = "; ".join(
        f"{m.name.removeprefix('HTTP /score, ')} {statistics.median(m.reward_ms):.2f}"
        for m in modes[2:]
    )
    print(
        f"ms in the reward per batch, median over rounds (the server's /metrics): {in_reward}; "
        f"in-process (its batch p50) {1000 * statistics.median(base.times):.2f}"
    )
    print(_breakdown(server_side, reward, batch))


_METRICS = {
    'rewardsmith_request_seconds_sum{endpoint="score"}': "request",
    'rewardsmith_request_seconds_count{endpoint="score"}': "count",
    'rewardsmith_score_seconds_sum{endpoint="score"}': "reward",
}


def _metrics(url: str, pid: int) -> dict[str, float]:
    """The server's request and reward time totals for /score (its Prometheus text), and
    the CPU of its event loop thread (the process's first thread) and of all its threads."""
    out = dict.fromkeys(_METRICS.values(), 0.0)
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    out["loop"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    out["cpu"] = _cpu_seconds(pid)
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name in _METRICS:
            out[_METRICS[name]] = float(value)
    return out


def _breakdown(server_side: dict[str, float], reward: Any, batch: list[dict[str, object]]) -> str:
    """Where a request's time goes in the server (body-once mode), then decoding and
    encoding alone, timed here."""
    from rewardsmith.serve.schemas import parse_score_request
    from rewardsmith.serve.scoring import scores_body

    n = server_side.get("count") or 1.0
    body = orjson.dumps({"samples": [_native(r) for r in batch]})
    scores = reward.score(parse_score_request(body)[0])
    decode, encode = (
        min(timeit.repeat(f, number=20, repeat=5)) / 20 * 1000
        for f in (lambda: parse_score_request(body), lambda: scores_body(scores))
    )
    per = {k: 1000 * v / n for k, v in server_side.items()}
    return (
        f"server side, body once, per /score request (its /metrics and /proc): "
        f"{per.get('request', 0):.1f} ms in all, {per.get('reward', 0):.1f} ms in the reward; "
        f"CPU {per.get('cpu', 0):.1f} ms, {per.get('loop', 0):.1f} ms of it on the event loop "
        f"thread. Timed here: decoding the {len(body) // 1024} KB body into {len(batch)} "
        f"Samples {decode:.2f} ms, encoding the {len(batch)} Scores {encode:.2f} ms"
    )


if __name__ == "__main__":
    main()
