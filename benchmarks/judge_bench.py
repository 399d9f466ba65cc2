"""The judge core's overhead: ``judge.reference`` against a bare ``openai.AsyncOpenAI`` loop,
both talking to the same zero-latency OpenAI-compatible mock on loopback.

The mock (a Starlette app under uvicorn, in its own process) answers every chat request
at once with ``YES``. Both clients send the same rendered judge prompts, ``--items`` of
them, ``--concurrency`` in flight:

- ``core``: ``JudgeReference`` (cache off, pre-gate on, ``max_concurrency`` =
  ``--concurrency``) scoring ``--items`` samples in one call: render, pre-gate, the
  OpenAI-compatible backend (deadlines, retries, capped replies), strict parsing;
- ``bare``: ``AsyncOpenAI.chat.completions.create`` under an ``asyncio.Semaphore``,
  reading ``choices[0].message.content``.

Printed: calls per second for each (the best of ``--repeat`` rounds, run in turn), their
ratio (target: the core at least 90% of the bare loop), the added latency per call at
concurrency 1 (p50 and p99 over ``--latency-items`` sequential calls), and the
pre-gate's cost per item. On 2 cores the mock server shares the machine, so both sides
are bounded by it; the ratio is what the core costs.

Run: ``python benchmarks/judge_bench.py`` (about a minute on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from rewardsmith.core import Sample
from rewardsmith.judges.pregate import degenerate
from rewardsmith.judges.reference import JudgeReference, JudgeReferenceParams

SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def chat(request):
    body = await request.json()
    n = int(body.get("n") or 1)
    choices = [{"index": i, "message": {"role": "assistant", "content": "YES"}, "finish_reason": "stop"} for i in range(n)]
    return JSONResponse({"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
                         "choices": choices, "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

async def health(request):
    return JSONResponse({"ok": True})

app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/health", health)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url + "/v1"
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the mock server did not start")
        time.sleep(0.05)


def samples(n: int) -> list[Sample]:
    return [
        Sample(prompt=f"What is {k} + {k + 1}? Answer with the number.", completion=f"It is {2 * k + 1}.", reference=str(2 * k + 1))
        for k in range(n)
    ]  # fmt: skip


def judge(url: str, concurrency: int) -> JudgeReference:
    params = JudgeReferenceParams(
        model=url, served_model="mock", cache=False, pregate=True, max_concurrency=concurrency, timeout_s=60
    )
    return JudgeReference(params)


async def bare_loop(url: str, prompts: list[Any], concurrency: int) -> list[str]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="none", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(messages: Any) -> str:
        async with gate:
            reply = await client.chat.completions.create(model="mock", messages=messages)
            return reply.choices[0].message.content or ""

    try:
        return await asyncio.gather(*(one(m) for m in prompts))
    finally:
        await client.close()


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    proc, url = start_server()
    try:
        batch = samples(args.items)
        core = judge(url, args.concurrency)
        prompts = [core.ask_for(s).messages for s in batch]
        core.score(batch[:50])  # warm both paths: connections, imports
        asyncio.run(bare_loop(url, prompts[:50], args.concurrency))
        rates: dict[str, list[float]] = {"core": [], "bare": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            scores = core.score(batch)
            rates["core"].append(len(batch) / (time.perf_counter() - start))
            assert all(s.value == 1.0 for s in scores), scores[0]
            start = time.perf_counter()
            replies = asyncio.run(bare_loop(url, prompts, args.concurrency))
            rates["bare"].append(len(batch) / (time.perf_counter() - start))
            assert all(r == "YES" for r in replies)
        one = judge(url, 1)
        core_lat, bare_lat = [], []
        for s, m in zip(batch[: args.latency_items], prompts, strict=False):
            start = time.perf_counter()
            one.score([s])
            core_lat.append(time.perf_counter() - start)
            start = time.perf_counter()
            asyncio.run(bare_loop(url, [m], 1))
            bare_lat.append(time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait(10)
    start = time.perf_counter()
    for s in batch:
        degenerate(s.completion, s.prompt)  # type: ignore[arg-type]
    gate_us = 1e6 * (time.perf_counter() - start) / len(batch)
    best = {k: max(v) for k, v in rates.items()}
    return {
        "items": args.items, "concurrency": args.concurrency,
        "core_calls_per_s": best["core"], "bare_calls_per_s": best["bare"],
        "ratio": best["core"] / best["bare"],
        "added_p50_ms": 1e3 * (statistics.median(core_lat) - statistics.median(bare_lat)),
        "added_p99_ms": 1e3 * (percentile(core_lat, 0.99) - percentile(bare_lat, 0.99)),
        "pregate_us_per_item": gate_us,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-items", type=int, default=200)
    args = parser.parse_args(argv)
    out = run(args)
    print(f"{out['items']} judge calls, concurrency {out['concurrency']}, zero-latency mock on loopback")
    print(f"  core (judge.reference): {out['core_calls_per_s']:8.0f} calls/s")
    print(f"  bare AsyncOpenAI loop : {out['bare_calls_per_s']:8.0f} calls/s")
    print(f"  ratio core / bare     : {out['ratio']:8.2f}  (target >= 0.90)")
    print(f"  added latency per call at concurrency 1: p50 {out['added_p50_ms']:+.2f} ms, p99 {out['added_p99_ms']:+.2f} ms")
    print(f"  pre-gate: {out['pregate_us_per_item']:.1f} µs per item")
    return 0


if __name__ == "__main__":
    sys.exit(main())
