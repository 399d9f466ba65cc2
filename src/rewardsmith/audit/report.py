"""An audit as one static HTML page: header, per-probe table, plots and paid examples.

``render(report, source=...)`` returns the page; ``write(report, path, source=...)`` saves
it. The page is self-contained: its CSS is inline, its two charts (share paid and mean
gain per probe, coloured by verdict) are PNGs drawn with matplotlib and embedded as
``data:`` URIs, and it loads nothing else: no script, font or stylesheet, no network.

Every text that comes from outside the code (the spec name, the input path, probe
variants and above all the paid completions, which are model output written to fool a
reward) is HTML-escaped, and the page's Content-Security-Policy allows no script and no
resource but ``data:`` images, so an escape missed would still run nothing.

matplotlib is the ``report`` extra (``pip install 'rewardsmith[report]'``); it is
imported only when a page is rendered, and ``require()`` checks for it beforehand.

Example:
    >>> import rewardsmith
    >>> from rewardsmith import Sample
    >>> from rewardsmith.audit import audit, probes_named
    >>> rollouts = [Sample(prompt="What is 6*7?", reference="42",
    ...     completion="<think>6*7=42</think><answer>42</answer>")]
    >>> result = audit(rewardsmith.load("qa.cover_em"), rollouts, probes_named(["hedging"]))
    >>> page = render(result, source="rollouts.jsonl")
    >>> page.startswith("<!DOCTYPE html>") and "hedging" in page
    True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from rewardsmith.audit.run import AuditReport, Example, ProbeResult, Verdict
from rewardsmith.errors import MissingExtraError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["COLOURS", "render", "require", "write"]

COLOURS = {
    Verdict.OK: "#2e7d32",
    Verdict.PAYS: "#c62828",
    Verdict.ERRORS: "#e69500",
    Verdict.UNTESTED: "#9e9e9e",
}
"""A verdict's colour, in the table and in both charts."""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1160px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 6px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 18px; color: #444; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin-bottom: 6px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.what { color: #666; font-size: 13px; line-height: 1.25; }
.verdict { color: #fff; font-weight: 700; border-radius: 4px; padding: 1px 8px; }
.caption { color: #555; font-size: 13px; margin-bottom: 18px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-bottom: 18px; }
.charts img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; border: 1px solid #e4e4e4; padding: 8px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 12px; }
.gain { color: #555; font-size: 13px; }
"""


def require() -> None:
    """Raise ``MissingExtraError`` unless matplotlib, which draws the charts, is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError("matplotlib", "report") from None


def write(report: AuditReport, path: Path, *, source: str, created: datetime | None = None) -> None:
    """Write ``render(report, ...)`` to ``path`` (UTF-8)."""
    path.write_text(render(report, source=source, created=created), encoding="utf-8")


def render(report: AuditReport, *, source: str, created: datetime | None = None) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: what ``audit()`` returned.
        source: where the rollouts came from, shown in the header.
        created: the date shown in the header (default: now, local time).

    Returns:
        The page, an HTML document that references nothing outside itself.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    require()
    when = (created or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    title = f"rewardsmith audit · {report.spec}"
    body = "\n".join(
        [
            f"<h1>{escape(title)}</h1>",
            _header(report, source, when),
            _table(report),
            _charts(report.probes),
            _examples(report.probes),
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _header(report: AuditReport, source: str, when: str) -> str:
    rows = [
        ("spec", report.spec),
        ("input", source),
        ("prompts", f"{report.bases} ({_with_paid(report)} with a paid completion)"),
        ("verdict", _summary(report)),
        ("date", when),
    ]
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f"<dl class='meta'>{cells}</dl>"


def _with_paid(report: AuditReport) -> int:
    return sum(v is not None for v in report.base_values)


def _summary(report: AuditReport) -> str:
    if not report.paying:
        return f"no probe pays (of {len(report.probes)})"
    return f"{len(report.paying)} of {len(report.probes)} probes pay: {', '.join(report.paying)}"


def _fmt(x: float | None, spec: str) -> str:
    if x is None:
        return "n/a"
    return "0" if x == 0 else format(x, spec)


def _badge(verdict: Verdict) -> str:
    return f"<span class='verdict' style='background:{COLOURS[verdict]}'>{verdict}</span>"


def _table(report: AuditReport) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("probe", "kind", "n", "paid share", "mean gain", "errors", "verdict")
    )
    rows = [
        f"<tr id='probe-{escape(p.name)}'>"
        f"<td><b>{escape(p.name)}</b><br><span class='what'>{escape(p.description)}</span></td>"
        f"<td>{escape(str(p.kind))}</td><td class='num'>{p.n}</td>"
        f"<td class='num'>{_fmt(p.share_paid, '.3f')}</td>"
        f"<td class='num'>{_fmt(p.mean_gain, '+.3g')}</td>"
        f"<td class='num'>{p.errors}</td><td>{_badge(p.verdict)}</td></tr>"
        for p in report.probes
    ]
    caption = (
        "Paid share: of the completions that got a value, those paid above the floor (an "
        "empty completion's value) or above the unchanged completion, or for sensitivity "
        f"changed either way, by more than {report.tolerance:g}. A probe pays when its "
        f"share is above {report.max_share:g}. Seed {report.seed}."
    )
    return (
        f"<table id='probes'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<div class='caption'>{escape(caption)}</div>"
    )


def _charts(probes: Sequence[ProbeResult]) -> str:
    share = _png(probes, "share paid", lambda p: p.share_paid, (0.0, 1.0))
    gain = _png(probes, "mean gain (value - baseline)", lambda p: p.mean_gain, None)
    return (
        "<div class='charts'>"
        f"<img id='chart-share' alt='share paid per probe' src='data:image/png;base64,{share}'>"
        f"<img id='chart-gain' alt='mean gain per probe' src='data:image/png;base64,{gain}'>"
        "</div>"
    )


def _png(
    probes: Sequence[ProbeResult],
    label: str,
    value: Callable[[ProbeResult], float | None],
    limits: tuple[float, float] | None,
) -> str:
    """A horizontal bar per probe, coloured by verdict, as base64 PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(5.6, 1.0 + 0.32 * max(len(probes), 1)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    values = [value(p) for p in probes]
    bars = ax.barh(
        [p.name for p in probes],
        [v or 0.0 for v in values],
        color=[COLOURS[p.verdict] for p in probes],
    )
    labels = [_fmt(v, ".3g") for v in values]
    ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
    _style(ax, label, limits)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(ax: Axes, label: str, limits: tuple[float, float] | None) -> None:
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.set_xlabel(label)
    ax.tick_params(axis="y", labelsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    if limits is not None:
        ax.set_xlim(limits[0], limits[1] * 1.12)  # room for the labels
    else:
        ax.margins(x=0.2)


def _examples(probes: Sequence[ProbeResult]) -> str:
    shown = [p for p in probes if p.examples]
    if not shown:
        return "<h2>Paid examples</h2><p>No probe completion was paid.</p>"
    parts = ["<h2>Paid examples</h2>"]
    for p in shown:
        parts.append(
            f"<h3 id='examples-{escape(p.name)}'>{escape(p.name)} {_badge(p.verdict)}</h3>"
            f"<p class='what'>{escape(p.description)} · paid {p.paid} of {p.scored} · "
            f"{escape(p.paper)}</p>"
        )
        parts.extend(_example(e) for e in p.examples)
    return "\n".join(parts)


def _example(e: Example) -> str:
    gain = f"{e.value:.6g} against {e.baseline:.6g} ({e.value - e.baseline:+.3g}), prompt {e.base}"
    return (
        f"<div class='example'><span class='gain'><b>{escape(e.variant)}</b>: {escape(gain)}"
        f"</span><pre>{escape(e.completion)}</pre></div>"
    )
