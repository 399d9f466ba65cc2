"""Every Python and YAML block of the README (and of docs/specs.md, where the README's
longer examples moved) runs as written.

Each Python block runs in its own interpreter (a block that registers a reward must not
change the catalog of the other tests). The client block talks to a real server started
here with the block's own URL and token. A ``# value`` comment under a ``print(...)``
line is the expected output, with ``...`` standing for the digits left out.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers_serve import running
from rewardsmith import load_spec
from rewardsmith.serve import create_app

README = Path(__file__).resolve().parents[1] / "README.md"
SPECS_DOC = README.parent / "docs" / "specs.md"


def blocks(language: str, path: Path = README) -> list[tuple[int, str]]:
    """``(line, code)`` of every fenced block in ``language``."""
    found, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f"```{language}":
            start, body = i + 1, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            found.append((start, "\n".join(body) + "\n"))
        i += 1
    return found


PYTHON = blocks("python")
DOC_PYTHON = blocks("python", SPECS_DOC)


def expected_lines(code: str) -> list[str]:
    """The ``# ...`` comment lines that follow a ``print(`` line: the expected output."""
    out, lines = [], code.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("print(") and lines[i + 1].startswith("# "):
            out.append(lines[i + 1][2:])
    return out


def matches(pattern: str, line: str) -> bool:
    regex = ".*?".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, line) is not None


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_has_the_blocks_this_file_runs() -> None:
    assert len(PYTHON) >= 3 and blocks("yaml") and DOC_PYTHON


@pytest.mark.parametrize(
    ("line", "code"),
    PYTHON + DOC_PYTHON,
    ids=[f"line{n}" for n, _ in PYTHON] + [f"specs.md-line{n}" for n, _ in DOC_PYTHON],
)
def test_python_block_runs(line: int, code: str, tmp_path: Path) -> None:
    if "Client(" in code:
        url = re.search(r'Client\("(http://[^"]+)"', code)
        token = re.search(r'token="([^"]+)"', code)
        assert url and token
        port = int(url.group(1).rsplit(":", 1)[1])
        if not port_free(port):
            pytest.skip(f"port {port}, which the block names, is taken on this machine")
        app = create_app("math-r1", token=token.group(1))
        prelude = (
            "from rewardsmith import Sample\n"
            "samples = [Sample(prompt='2+2?', completion='<answer>4</answer>', reference='4')]\n"
        )
        with running(app, port=port):
            done = run_python(prelude + code + "\nassert len(scores) == 1\n", tmp_path)
    else:
        done = run_python(code, tmp_path)
    assert done.returncode == 0, f"README line {line}:\n{done.stderr[-3000:]}"
    printed = done.stdout.splitlines()
    for pattern in expected_lines(code):
        assert any(matches(pattern, got) for got in printed), (pattern, printed)


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.mark.parametrize(("line", "text"), blocks("yaml") + blocks("yaml", SPECS_DOC))
def test_yaml_block_is_a_valid_spec(line: int, text: str, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    assert load_spec(path) is not None, f"README line {line}"
