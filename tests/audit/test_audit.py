"""``rewardsmith audit``: the probes, the runner's verdicts, and the command.

Each test checks one property: the shipped math spec pays nothing for nothing; a weak
reward of each kind (substring match, length, whitespace) is flagged by the probe made for
it and not by the others; an item that errors is never paid; probes are deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rewardsmith
from rewardsmith import ItemReward, Sample
from rewardsmith.audit import ALL, Kind, Verdict, audit, probes_named
from rewardsmith.audit.probes import Base, distractors, reference_text, split_reasoning
from rewardsmith.cli.app import app
from rewardsmith.cli.score import bundled_rollouts
from rewardsmith.data.master_keys import MASTER_KEYS
from rewardsmith.errors import ConfigError
from rewardsmith.rollouts import FieldMap, read_rollouts

MAX_BASE = 8
ABSOLUTE = [p for p in ALL if p.kind is Kind.ABSOLUTE]


@pytest.fixture(scope="module")
def rollouts() -> list[Sample]:
    fields = FieldMap()
    return [fields.sample(r.raw) for rows in read_rollouts(bundled_rollouts()) for r in rows]


class Substring(ItemReward):
    """Weak on purpose: 1 when the reference appears anywhere in the completion."""

    name = "test.substring"

    def score_one(self, sample: Sample) -> float:
        return float(str(sample.reference) in sample.text)


class Length(ItemReward):
    """Pays length: min(1, characters / 1000)."""

    name = "test.length"

    def score_one(self, sample: Sample) -> float:
        return min(1.0, len(sample.text) / 1000)


class Spaces(ItemReward):
    """Depends on white space: the share of characters that are spaces or newlines."""

    name = "test.spaces"

    def score_one(self, sample: Sample) -> float:
        text = sample.text
        return sum(c in " \n" for c in text) / len(text) if text else 0.0


class RaisesOnMaybe(ItemReward):
    """Substring match that crashes on any completion saying 'maybe'."""

    name = "test.raises_on_maybe"

    def score_one(self, sample: Sample) -> float:
        if "maybe" in sample.text:
            raise RuntimeError("judge down")
        return float(str(sample.reference) in sample.text)


# ---------------------------------------------------------------- (a) the math specs


@pytest.mark.parametrize(
    "spec",
    [
        "math-r1",
        pytest.param(
            "math-cosine",
            marks=pytest.mark.xfail(
                strict=True,
                reason="finding: a wrong answer earns -10 at length 0 rising to 0 at "
                "max_tokens (Yeo et al.'s design), so every non-empty completion is paid a "
                "little above the empty one's -10",
            ),
        ),
    ],
)
def test_math_specs_pay_nothing_on_any_absolute_probe(spec: str, rollouts: list[Sample]) -> None:
    report = audit(rewardsmith.load_spec(spec), rollouts, ABSOLUTE, max_base=MAX_BASE)
    for result in report.probes:
        assert result.n > 0 and result.errors == 0, result.name
        assert result.paid == 0, (result.name, result.examples)
        assert result.verdict is Verdict.OK
    keys = report.probes[0].by_variant()
    assert len(keys) == 3 * len(MASTER_KEYS)  # every key, three ways
    assert all(row["paid"] == 0 for row in keys.values())


def test_math_r1_pays_nothing_on_the_relative_probes_either(rollouts: list[Sample]) -> None:
    report = audit(rewardsmith.load_spec("math-r1"), rollouts, max_base=4)
    assert report.paying == ()
    assert all(v == 1.0 for v in report.base_values)  # each prompt has a correct rollout
    assert all(p.n > 0 for p in report.probes)


# ---------------------------------------------------------------- (b) substring match


@pytest.mark.parametrize("probe", ["answer-spraying", "hedging"])
def test_a_substring_reward_is_flagged_by_spraying_and_hedging(
    probe: str, rollouts: list[Sample]
) -> None:
    result = audit(Substring(), rollouts, probes_named([probe]), max_base=MAX_BASE).probes[0]
    assert result.verdict is Verdict.PAYS
    assert result.share_paid == 1.0
    assert result.mean_gain == 1.0
    assert 1 <= len(result.examples) <= 3
    for example in result.examples:
        assert example.value == 1.0 and example.baseline == 0.0
        assert len(example.completion) <= 200


def test_distractors_differ_from_the_reference(rollouts: list[Sample]) -> None:
    refs = tuple(dict.fromkeys(str(s.reference) for s in rollouts))
    import random

    for sample in rollouts[::8]:
        base = Base(0, sample, None, refs)
        wrong = distractors(base, random.Random(0), 10)
        assert len(wrong) == 10
        assert str(sample.reference) not in wrong
    text = Base(
        0,
        Sample(prompt="Capital of France?", reference="Paris"),
        None,
        ("Paris", "Lyon", "the Lyon", "Nice"),
    )
    assert distractors(text, random.Random(0), 10) in (["Lyon", "Nice"], ["Nice", "Lyon"])


# ---------------------------------------------------------------- (c) length


@pytest.mark.parametrize(
    "reward",
    [Length(), rewardsmith.load("length.cosine", max_tokens=4096, short_value=0.0, long_value=1.0)],
    ids=["chars-over-1000", "length.cosine-long-pays"],
)
def test_a_length_reward_is_flagged_by_inflation_and_padding(
    reward, rollouts: list[Sample]
) -> None:
    report = audit(
        reward, rollouts, probes_named(["length-inflation", "repetition-padding"]), max_base=4
    )
    for result in report.probes:
        assert result.verdict is Verdict.PAYS, result.name
        assert result.mean_gain is not None and result.mean_gain > 0
        assert result.examples


# ---------------------------------------------------------------- (d) sensitivity


def test_sensitivity_flags_a_whitespace_reward_and_not_math_answer(rollouts: list[Sample]) -> None:
    [spaces] = audit(Spaces(), rollouts, probes_named(["sensitivity"]), max_base=4).probes
    assert spaces.verdict is Verdict.PAYS
    assert spaces.by_variant()["double-spaces"]["paid"] == spaces.by_variant()["double-spaces"]["n"]
    [math] = audit(
        rewardsmith.load("math.answer"), rollouts, probes_named(["sensitivity"]), max_base=4
    ).probes
    assert math.n > 0 and math.paid == 0 and math.verdict is Verdict.OK
    assert {"double-spaces", "trailing-newline", "latex-thin-space"} <= set(math.by_variant())


def test_sensitivity_counts_drops_as_flips() -> None:
    class DropsOnDoubleSpace(ItemReward):
        name = "test.drops"

        def score_one(self, sample: Sample) -> float:
            return 0.5 if "  " in sample.text else float(bool(sample.text))

    rollouts = [
        Sample(prompt="q", completion="<think>a b</think><answer>4</answer>", reference="4")
    ]
    [result] = audit(DropsOnDoubleSpace(), rollouts, probes_named(["sensitivity"])).probes
    flips = result.by_variant()["double-spaces"]
    assert flips == {"n": 1, "paid": 1, "errors": 0}
    assert result.mean_gain is not None and result.mean_gain > 0  # the size of the change


# ---------------------------------------------------------------- (e) errors


def test_items_that_error_are_counted_apart_and_never_paid(rollouts: list[Sample]) -> None:
    [result] = audit(RaisesOnMaybe(), rollouts, probes_named(["hedging"]), max_base=4).probes
    maybes = result.by_variant()["or-maybe/tags"]["n"] + result.by_variant()["or-maybe/plain"]["n"]
    assert result.errors == maybes == 8
    assert all(not i.paid for i in result.items if i.value is None)
    assert result.paid == result.scored == result.n - result.errors  # the rest are paid
    assert result.share_paid == 1.0 and result.verdict is Verdict.PAYS


def test_a_probe_that_mostly_errors_says_errors() -> None:
    class RaisesOnText(ItemReward):
        name = "test.raises"

        def score_one(self, sample: Sample) -> float:
            if sample.text:
                raise RuntimeError("down")
            return 0.0

    rollouts = [Sample(prompt="What is 2+3?", completion="5", reference="5")]
    report = audit(RaisesOnText(), rollouts, probes_named(["master-keys", "sensitivity"]))
    keys, sensitivity = report.probes
    assert keys.verdict is Verdict.ERRORS and keys.paid == 0 and keys.share_paid is None
    assert sensitivity.verdict is Verdict.UNTESTED and sensitivity.n == 0  # nothing paid to rewrite


def test_an_empty_completion_that_errors_falls_back_to_the_range_floor() -> None:
    class NeedsText(ItemReward):
        name = "test.needs_text"

        def score_one(self, sample: Sample) -> float:
            if not sample.text:
                raise ValueError("empty")
            return 0.0

    report = audit(
        NeedsText(),
        [Sample(prompt="q", completion="x", reference="1")],
        probes_named(["format-only"]),
    )
    assert report.floors == (0.0,)  # NeedsText's range is (0, 1)
    assert report.probes[0].paid == 0


# ---------------------------------------------------------------- (f) the command


def _cli(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def test_cli_json_reports_every_probe_for_math_r1() -> None:
    result = _cli("--spec", "math-r1", "--json", "--max-base", "4", "--fail-on-pay")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p["name"] for p in report["probes"]] == [p.name for p in ALL]
    assert report["paying"] == [] and report["bases"] == 4
    assert all(p["verdict"] == "ok" for p in report["probes"])


def test_cli_fails_on_pay_for_a_weak_spec(tmp_path: Path) -> None:
    spec = tmp_path / "weak.yaml"
    spec.write_text(
        "name: weak\nreward:\n  use: format.regex\n  with: {pattern: '\\d', mode: search}\n"
    )
    result = _cli("--spec", str(spec), "--max-base", "2", "--fail-on-pay")
    assert result.exit_code == 1, result.output
    assert "pays" in result.stdout and "for example" in result.stdout
    assert _cli("--spec", str(spec), "--max-base", "2").exit_code == 0  # without the flag


def test_cli_table_and_usage_errors() -> None:
    result = _cli("--probes", "hedging,master-keys", "--max-base", "2")
    assert result.exit_code == 0, result.output
    for word in ("probe", "share", "gain", "errors", "verdict", "hedging", "master-keys"):
        assert word in result.stdout
    assert "sensitivity" not in result.stdout
    bad = _cli("--probes", "hedgehog")
    assert bad.exit_code == 2 and "unknown probe hedgehog" in bad.stderr


# ---------------------------------------------------------------- (g) determinism and helpers


@pytest.mark.parametrize("probe", ALL, ids=lambda p: p.name)
def test_every_probe_is_deterministic(probe, rollouts: list[Sample]) -> None:
    refs = tuple(dict.fromkeys(str(s.reference) for s in rollouts))
    bases = [Base(i, s, s.completion, refs) for i, s in enumerate(rollouts[:64:8])]
    first, second = probe.samples(bases, seed=3), probe.samples(bases, seed=3)
    assert first and first == second
    assert all(p.sample.group == f"audit/{probe.name}/{p.base}" for p in first)


def test_seeds_change_the_random_choices(rollouts: list[Sample]) -> None:
    [spray] = probes_named(["answer-spraying"])
    bases = [Base(0, rollouts[0], None, ())]
    assert spray.samples(bases, seed=0) != spray.samples(bases, seed=1)


@pytest.mark.parametrize(
    "text,reasoning",
    [
        ("<think>\na\nb\n</think>\n<answer>4</answer>", "\na\nb\n"),
        ("work\nmore work\n```sql\nSELECT 1\n```", "work\nmore work"),
        ("step one\nstep two\nThe answer is 4.", "step one\nstep two"),
        ("4", ""),
    ],
    ids=["think-block", "before-code-fence", "lines-but-last", "one-line"],
)
def test_split_reasoning_finds_the_reasoning(text: str, reasoning: str) -> None:
    parts = split_reasoning(text)
    assert "".join(parts) == text and parts[1] == reasoning


def test_reference_text_and_unknown_probe_names() -> None:
    assert reference_text(["Paris", "paris "]) == ("Paris", "paris")
    assert reference_text({"sql": "SELECT 1", "db": "x.db"}) == ()
    with pytest.raises(ConfigError, match="unknown probe nope"):
        probes_named(["nope"])
