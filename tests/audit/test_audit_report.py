"""``rewardsmith audit --report``: the HTML page, opened in a real headless Chromium.

Each test checks one property: every probe has its row and verdict in the rendered page;
the two charts are PNGs that decode and paint; a paid completion that carries markup is
shown as text and runs nothing; the page loads nothing from outside itself; a missing
matplotlib fails before the audit, naming the extra.

Chromium (Debian package ``chromium``) is a system dependency, like bubblewrap for the
sandbox: ``make test`` installs both (``make system-deps``), and these tests fail, not
skip, without it.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from rewardsmith.audit import ALL
from rewardsmith.audit.report import COLOURS
from rewardsmith.audit.run import Verdict
from rewardsmith.cli.app import app

TIMEOUT_S = 60
WEAK_SPEC = "name: weak\nreward:\n  use: format.regex\n  with: {pattern: '\\d', mode: search}\n"
PAYLOAD = (
    "<script>document.title='pwned'</script></pre></div>"
    "<img src=x onerror=\"document.title='pwned'\"> What is 2+3?"
)
"""A prompt the weak spec pays when restated (it has a digit): markup that must stay text."""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: `make test` installs it (`make system-deps`)")
    return path


def _browser(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _dom(chromium: str, page: Path) -> str:
    return _browser(chromium, "--dump-dom", page.as_uri()).stdout


def _screenshot(chromium: str, page: Path) -> np.ndarray:
    out = page.with_suffix(".png")
    _browser(chromium, "--window-size=1200,2400", f"--screenshot={out}", page.as_uri())
    return imread(out)[..., :3]


def _report(tmp_path: Path, spec: str, *args: str) -> Path:
    out = tmp_path / f"{Path(spec).stem}.html"
    result = CliRunner().invoke(
        app, ["audit", "--spec", spec, "--max-base", "2", "--report", str(out), *args]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("weak")
    (folder / "weak.yaml").write_text(WEAK_SPEC)
    return _report(folder, str(folder / "weak.yaml"))


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _rows(dom: str) -> dict[str, list[str]]:
    """``{probe: [cell text, ...]}`` from the rendered table."""
    rows = re.findall(r'<tr id="probe-([^"]+)">(.*?)</tr>', dom, re.S)
    return {name: [_text(c) for c in re.findall(r"<td.*?</td>", r, re.S)] for name, r in rows}


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize(
    "spec,paying",
    [
        (
            "weak",
            {"master-keys", "question-restated", "answer-spraying", "hedging", "prompt-number"},
        ),
        ("math-r1", set()),
    ],
    ids=["weak-substring-regex", "math-r1"],
)
def test_every_probe_has_its_row_and_verdict(
    spec: str, paying: set[str], chromium: str, weak: Path, tmp_path: Path
) -> None:
    page = weak if spec == "weak" else _report(tmp_path, spec)
    dom = _dom(chromium, page)
    rows = _rows(dom)
    assert list(rows) == [p.name for p in ALL]
    for name, cells in rows.items():
        assert cells[0].startswith(name) and cells[-1] in {v.value for v in Verdict}
        assert (cells[-1] == "pays") == (name in paying), (name, cells)
    shown = re.search(r"<dt>spec</dt><dd>(.*?)</dd>", dom)
    assert shown is not None and shown.group(1).endswith("weak.yaml" if spec == "weak" else spec)
    assert "<dt>prompts</dt><dd>2 " in dom


# ---------------------------------------------------------------- the charts


def test_the_charts_are_pngs_that_decode(chromium: str, weak: Path) -> None:
    dom = _dom(chromium, weak)
    charts = dict(re.findall(r'<img id="(chart-\w+)"[^>]*src="data:image/png;base64,([^"]+)"', dom))
    assert set(charts) == {"chart-share", "chart-gain"}
    for data in charts.values():
        pixels = imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400
        assert pixels[..., :3].std() > 0.05  # not a blank image


def test_the_charts_paint_red_bars_for_the_paying_probes(
    chromium: str, weak: Path, tmp_path: Path
) -> None:
    """The page paints far more of the ``pays`` colour than the same page without its
    images (where only the verdict badges are red): the browser decoded the charts."""
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img [^>]*>", "", weak.read_text()))
    red = np.array([int(COLOURS[Verdict.PAYS][i : i + 2], 16) / 255 for i in (1, 3, 5)])

    def reds(page: Path) -> int:
        return int((np.abs(_screenshot(chromium, page) - red).max(axis=-1) < 0.02).sum())

    with_charts, without = reds(weak), reds(bare)
    assert without > 0  # the badges
    assert with_charts - without > 20_000, (with_charts, without)


# ---------------------------------------------------------------- hostile completions


def test_a_paid_completion_with_markup_is_shown_as_text(chromium: str, tmp_path: Path) -> None:
    rollouts = tmp_path / "hostile.jsonl"
    row = {
        "prompt": PAYLOAD,
        "completion": "<think>2+3=5</think><answer>5</answer>",
        "reference": "5",
    }
    rollouts.write_text(json.dumps(row) + "\n")
    (tmp_path / "weak.yaml").write_text(WEAK_SPEC)
    page = _report(
        tmp_path, str(tmp_path / "weak.yaml"), str(rollouts), "--probes", "question-restated"
    )
    dom = _dom(chromium, page)
    assert "<script" not in dom  # no script element, only its text
    assert len(re.findall(r"<img ", dom)) == 2  # the two charts, not the payload's
    assert "<title>rewardsmith audit · " in dom and "pwned</title>" not in dom
    shown = re.findall(r"<pre>(.*?)</pre>", dom, re.S)
    assert PAYLOAD in [unescape(s) for s in shown]


def test_the_page_loads_nothing_from_outside(weak: Path) -> None:
    page = weak.read_text()
    assert re.findall(r"\b(?:src|href)=['\"]?([^'\" >]+)", page) == [
        "data:image/png;base64," + m for m in re.findall(r"base64,([^'\"]+)", page)
    ]
    assert "<script" not in page and "<link" not in page and "url(" not in page
    assert "default-src 'none'" in page


# ---------------------------------------------------------------- without matplotlib


def test_a_missing_matplotlib_fails_before_the_audit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["audit", "--report", str(out), "--spec", "nope"])
    assert result.exit_code == 2
    assert "pip install 'rewardsmith[report]'" in result.stderr
    assert "nope" not in result.stderr and not out.exists()  # before the spec is even read
    assert "'rewardsmith[report]'" in CliRunner().invoke(app, ["audit", "--help"]).stdout
