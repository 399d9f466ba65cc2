"""Hostile files against the command line: specs that explode, outputs that eat inputs,
lines too long to hold.

Each case runs the real ``rewardsmith`` command in a subprocess under an address-space
limit, and checks the exit code, that stderr is one line with no traceback, and a hang
guard.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = [str(Path(sys.executable).with_name("rewardsmith"))]
MEMORY_CAP = 2 * 1024**3  # bytes of address space for the child: a bomb dies, never the box


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(*args: str, cwd: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, preexec_fn=_limit
    )
    return done, time.monotonic() - start


def one_line_usage_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 3, done.stderr[-2000:]  # one message (rich may wrap it)
    return " ".join(lines)


def _rollouts(path: Path, n: int) -> Path:
    rows = [{"prompt": "1+1?", "completion": r"\boxed{2}", "reference": "2"} for _ in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# 435 bytes that expand to 10^9 leaves: YAML's "billion laughs", used as a parameter
ALIAS_BOMB = "\n".join(
    ["name: bomb", "description:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"  {c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    + ["reward: {use: math.answer, params: {rel_tol: *i}}"]
)
SPECS = {
    "alias bomb": ("bomb.yaml", ALIAS_BOMB.encode()),
    "self-reference": ("loop.yaml", b"name: loop\nreward: &r {use: math.answer, params: {x: *r}}\n"),
    "not utf-8": ("latin.yaml", "name: caf\xe9\nreward: {use: math.answer}\n".encode("latin-1")),
    "4,300-digit integer": ("big.toml", b"name = 'big'\n[reward]\nuse = 'length.overlong'\n[reward.params]\nmax_tokens = " + b"9" * 4400 + b"\n"),
    "100,000-deep nesting": ("deep.yaml", b"name: deep\nreward: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"),
    "binary junk": ("junk.yaml", bytes(range(256)) * 40),
    "huge file": ("huge.yaml", b"name: huge\ndescription: " + b"x" * (8 * 1024**2) + b"\nreward: {use: math.answer}\n"),
}


@pytest.mark.parametrize("name", SPECS, ids=list(SPECS))
def test_hostile_specs_exit_2_with_one_line_fast(tmp_path, name):
    filename, content = SPECS[name]
    (tmp_path / filename).write_bytes(content)
    rollouts = _rollouts(tmp_path / "in.jsonl", 2)
    done, seconds = run("score", str(rollouts), "--spec", filename, cwd=tmp_path)
    message = one_line_usage_error(done)
    assert filename in message
    assert seconds < 30  # hang guard: the alias bomb took 35 s and 3 GB


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path):
    rollouts = _rollouts(tmp_path / "in.jsonl", 2000)
    before = rollouts.read_bytes()
    done, _ = run("score", "in.jsonl", "--out", "in.jsonl", "--chunk-size", "100", cwd=tmp_path)
    message = one_line_usage_error(done)
    assert "same file" in message
    assert rollouts.read_bytes() == before
    link = tmp_path / "alias.jsonl"  # the same file by another name
    link.symlink_to(rollouts)
    done, _ = run("score", "in.jsonl", "--out", "alias.jsonl", cwd=tmp_path)
    one_line_usage_error(done)
    assert rollouts.read_bytes() == before


def test_output_appears_only_when_complete(tmp_path):
    _rollouts(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    done, _ = run("score", "in.jsonl", "--out", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temp left
    # a run that fails part-way leaves the old output as it was
    (tmp_path / "broken.yaml").write_text("name: b\nreward: {use: no.such.reward}\n")
    done, _ = run("score", "in.jsonl", "--out", "out.jsonl", "--spec", "broken.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert len(out.read_text().splitlines()) == 50


def test_a_line_over_the_byte_cap_is_an_error_row_in_bounded_memory(tmp_path):
    path = tmp_path / "in.jsonl"
    row = json.dumps({"completion": r"\boxed{2}", "reference": "2"}) + "\n"
    with path.open("w") as f:
        f.write(row)
        f.write('{"completion": "' + "x" * (300 * 1024**2) + '", "reference": "2"}\n')  # 300 MB
        f.write(row)
    done, seconds = run(
        "score", "in.jsonl", "--out", "out.jsonl", "--spec", "math-r1", cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert "bytes" in rows[1]["error"]["message"]
    assert seconds < 60  # hang guard


def test_a_run_killed_part_way_leaves_the_old_output_whole(tmp_path):
    _rollouts(tmp_path / "in.jsonl", 40_000)
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    proc = subprocess.Popen(
        [*CLI, "score", "in.jsonl", "--out", "out.jsonl", "--chunk-size", "64"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_limit,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:  # scoring has started
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
            if partial and partial[0].stat().st_size > 0:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert out.read_text() == "old\n"  # before: truncated, then half written


def test_no_ray_cluster_at_the_address_is_a_one_line_usage_error(monkeypatch):
    from rewardsmith.errors import InputError
    from rewardsmith.integrations import ray as ray_engine

    class NoCluster:
        @staticmethod
        def is_initialized() -> bool:
            return False

        @staticmethod
        def init(**kwargs: object) -> None:
            raise ConnectionError("Could not find any running Ray instance.\nPlease specify ...")

    monkeypatch.setattr(ray_engine, "_ray", lambda: NoCluster)
    with pytest.raises(InputError) as caught:  # printed by the CLI as one line, exit 2
        ray_engine.init("auto")
    assert str(caught.value) == "ray address 'auto': Could not find any running Ray instance."
