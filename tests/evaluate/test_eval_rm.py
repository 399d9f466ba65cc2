"""``eval-rm`` against figures worked out by hand from RewardBench's rules.

Every expected number below is computed in the comments from the scores in ``TABLE``;
the rules are those of allenai/reward-bench at commit 05a9005 (``rewardbench/utils.py``:
``reroll_and_score_dataset``, ``_compute_prompt_stats``, ``process_single_model``;
``scripts/run_rm.py`` for pairwise accuracy).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from rewardsmith.cli.app import app
from rewardsmith.core import ItemReward, Sample
from rewardsmith.errors import InputError
from rewardsmith.evaluate import PrefRow, best_of_n, evaluate_rm, parse_row, ties_score


class Lookup(ItemReward):
    """A fixed score per completion text; an unknown text raises, so it scores None."""

    name = "test.lookup"

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table

    def score_one(self, sample: Sample) -> float:
        return self.table[sample.text]


class Length(ItemReward):
    name = "test.length"

    def score_one(self, sample: Sample) -> float:
        return float(len(sample.text))


TABLE = {
    # bo4: one chosen then three rejected
    "a1": 3, "a2": 1, "a3": 2, "a4": 0,  # chosen alone on top: 1
    "b1": 2, "b2": 2, "b3": 1, "b4": 0,  # 2-way tie with a rejected: 1/2
    "c1": 5, "c2": 5, "c3": 5, "c4": 1,  # 3-way tie: 1/3
    "d1": 1, "d2": 4, "d3": 0, "d4": 0,  # a rejected on top: 0
    # pairs: RewardBench 1 one-against-one
    "p1c": 4, "p1r": 1,  # win
    "p2c": 2, "p2r": 2,  # tie: pairwise 0, best-of-n 1/2
    "p3c": 1, "p3r": 3,  # loss
    "p4r": 9,  # p4's chosen is "ERR", not in the table: an error
    # Ties: ref (one correct) and tied (several correct) per prompt id
    "r1c": 10, "r1x": 4, "r1y": 6,
    "t1a": 9, "t1b": 8, "t1c": 7, "t1x": 5, "t1y": 3,
    "r2c": 3, "r2x": 5,
    "t2a": 6, "t2b": 6, "t2x": 2,
}  # fmt: skip


def _rows() -> list[PrefRow]:
    bo4 = [PrefRow("q", (f"{k}1",), (f"{k}2", f"{k}3", f"{k}4"), "bo4") for k in "abcd"]
    pairs = [PrefRow("q", (f"p{i}c",), (f"p{i}r",), "pairs") for i in (1, 2, 3)]
    pairs.append(PrefRow("q", ("ERR",), ("p4r",), "pairs"))
    ties = [
        PrefRow("q", ("r1c",), ("r1x", "r1y"), "Ties", "ref:1"),
        PrefRow("q", ("t1a", "t1b", "t1c"), ("t1x", "t1y"), "Ties", "tied:1"),
        PrefRow("q", ("r2c",), ("r2x",), "Ties", "ref:2"),
        PrefRow("q", ("t2a", "t2b"), ("t2x",), "Ties", "tied:2"),
    ]
    return bo4 + pairs + ties


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([3, 1, 2, 0], 1.0),
        ([2, 2, 1, 0], 1 / 2),
        ([5, 5, 5, 1], 1 / 3),
        ([1, 4, 0, 0], 0.0),
        ([2, 2, 2, 2], 1 / 4),
        ([1, 2, 2, 0], 0.0),  # rejected tie among themselves above chosen: still 0
    ],
    ids=["alone-on-top", "2-way-tie", "3-way-tie", "beaten", "4-way-tie", "rejected-tie-above"],
)
def test_best_of_n_rule(scores: list[float], expected: float) -> None:
    assert best_of_n(scores) == pytest.approx(expected)


def test_hand_built_set() -> None:
    result = evaluate_rm(Lookup(TABLE), _rows())
    by = {s.name: s for s in result.subsets}
    assert list(by) == ["Ties", "bo4", "pairs"]

    bo4 = by["bo4"]
    # (1 + 1/2 + 1/3 + 0) / 4; pairs won: a 3, b 2 (tie with b2 is 0), c 1, d 2 of 12
    assert bo4.best_of_n == pytest.approx((1 + 1 / 2 + 1 / 3) / 4)
    assert bo4.pairwise_accuracy == pytest.approx(8 / 12)
    assert (bo4.n, bo4.errors) == (4, 0)

    pairs = by["pairs"]
    # best-of-n: 1 + 1/2 (tie) + 0 + 0 (error) over 4; pairwise: only p1, the tie is 0
    assert pairs.best_of_n == pytest.approx(1.5 / 4)
    assert pairs.pairwise_accuracy == pytest.approx(1 / 4)
    assert (pairs.errors, pairs.error_items) == (1, 1)

    ties = by["Ties"]
    # ref:1 margin 10-6=4 accurate; tied:1 spread 9-7=2, margin 7-5=2 accurate;
    # ref:2 margin 3-5=-2 not accurate; tied:2 spread 0, margin 6-2=4 accurate.
    # ref_accuracy 1/2, tied_accuracy 1.
    # prompt 1: 2 > 2 no; min(4, 2)=2 > 2 no; tanh(2/2 - 1) = 0
    # prompt 2: 4 > 0 yes; min(-2, 4)=-2 > 0 no; tanh(-2/0 - 1) = tanh(-inf) = -1
    # 0.3*1 + 0.3*0.5 + 0.2*0.5 + 0.2*0 + 0.01*(-0.5) = 0.545
    assert ties.best_of_n is None
    assert ties.ties_score == pytest.approx(0.545)
    assert ties.ties_terms == pytest.approx(
        {
            "tied_accuracy": 1.0,
            "ref_accuracy": 0.5,
            "correctness_preferred": 0.5,
            "correctness_preferred_hard": 0.0,
            "correctness_margin_score": -0.5,
        }
    )
    # Ties pairs won: ref:1 2/2, tied:1 6/6, ref:2 0/1, tied:2 2/2
    assert ties.pairwise_accuracy == pytest.approx(10 / 11)

    overall = result.overall
    assert (overall.n, overall.errors, overall.error_items) == (12, 1, 1)
    assert overall.pairwise_accuracy == pytest.approx((8 + 1 + 10) / (12 + 4 + 11))
    assert overall.best_of_n == pytest.approx((1 + 1 / 2 + 1 / 3 + 1.5) / 8)  # Ties excluded
    assert result.mean_of_subsets == pytest.approx((0.545 + 0.4583333333 + 0.375) / 3)
    assert result.ece is None  # values outside [0, 1]
    json.dumps(result.to_dict())


def test_ties_zero_over_zero_counts_zero() -> None:
    # spread 0 and min margin 0: tanh(nan) -> 0 by nan_to_num; neither margin term holds
    score, terms = ties_score([("ref:7", [1.0], [1.0]), ("tied:7", [1.0, 1.0], [1.0])])
    assert terms["correctness_margin_score"] == 0.0
    assert score == pytest.approx(0.0)


def test_an_error_is_never_a_win() -> None:
    # the chosen outscores the only scorable rejected, but the other rejected failed
    rows = [PrefRow("q", ("a1",), ("a2", "ERR"))]
    result = evaluate_rm(Lookup(TABLE), rows)
    assert (result.overall.best_of_n, result.overall.pairwise_accuracy) == (0.0, 0.0)
    assert (result.overall.errors, result.overall.error_items) == (1, 1)


def test_a_ties_subset_with_an_error_has_no_score() -> None:
    rows = [PrefRow("q", ("r1c",), ("ERR",), "ties", "ref:1")]
    assert evaluate_rm(Lookup(TABLE), rows).subsets[0].ties_score is None


def test_length_buckets_are_quartiles_of_the_chosen_length() -> None:
    # chosen lengths 1..8 against a 4-character rejected, reward = length.
    # inclusive quartiles of 1..8: 2.75, 4.5, 6.25 -> buckets {1,2} {3,4} {5,6} {7,8};
    # best-of-n: 0 0 | 0 1/2 (tie at 4) | 1 1 | 1 1
    rows = [PrefRow("q", ("x" * n,), ("yyyy",)) for n in range(1, 9)]
    buckets = evaluate_rm(Length(), rows).length_buckets
    assert [(b.lo, b.hi, b.n) for b in buckets] == [(1, 2, 2), (3, 4, 2), (5, 6, 2), (7, 8, 2)]
    assert [b.accuracy for b in buckets] == pytest.approx([0.0, 0.25, 1.0, 1.0])


def test_ece_when_values_are_probabilities() -> None:
    # bin 9: 0.95 chosen -> |0.95-1| = 0.05; bin 0: 0.05 rejected -> 0.05;
    # bin 6: 0.62 chosen, 0.68 rejected -> |0.65-0.5| = 0.15
    # ECE = 1/4*0.05 + 1/4*0.05 + 2/4*0.15 = 0.1
    table = {"c1": 0.95, "r1": 0.05, "c2": 0.62, "r2": 0.68}
    rows = [PrefRow("q", ("c1",), ("r1",)), PrefRow("q", ("c2",), ("r2",))]
    assert evaluate_rm(Lookup(table), rows).ece == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prompt": "q", "chosen": "a"}, "missing rejected"),
        ({"prompt": "q", "chosen": [], "rejected": "b"}, "'chosen' must be"),
        ({"prompt": "q", "chosen": "a", "rejected": [1]}, "'rejected' must be"),
    ],
    ids=["missing-column", "empty-list", "not-strings"],
)
def test_bad_rows_raise(record: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_row(record)


def test_bad_ties_id_raises() -> None:
    with pytest.raises(InputError, match="ref:N"):
        ties_score([("7", [1.0], [0.0])])


def _write(tmp_path: Path) -> tuple[Path, Path]:
    spec = tmp_path / "digit.yaml"
    spec.write_text(
        "name: digit\nreward:\n  use: format.regex\n  with: {pattern: '\\d', mode: search}\n"
    )
    rows = [
        # regex pays 1 for a digit: win, tie (both 1), tie (both 0), best-of-4 with a 2-way tie
        {"prompt": "q", "chosen": "4", "rejected": "four", "subset": "math"},
        {"prompt": "q", "chosen": "4", "rejected": "5", "subset": "math"},
        {"prompt": "q", "chosen": "four", "rejected": "five", "subset": "math"},
        {"prompt": "q", "chosen": ["7"], "rejected": ["seven", "8", "eight"], "subset": "bo4"},
    ]
    data = tmp_path / "prefs.jsonl"
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return spec, data


def test_cli_json(tmp_path: Path) -> None:
    spec, data = _write(tmp_path)
    out = CliRunner().invoke(app, ["eval-rm", "--spec", str(spec), str(data), "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    by = {s["name"]: s for s in got["subsets"]}
    # math: best-of-n 1 + 1/2 + 1/2 over 3; pairwise 1 of 3
    assert by["math"]["best_of_n"] == pytest.approx(2 / 3)
    assert by["math"]["pairwise_accuracy"] == pytest.approx(1 / 3)
    # bo4: scores 1, 0, 1, 0 -> 1/2; pairwise 2 of 3
    assert by["bo4"]["best_of_n"] == pytest.approx(1 / 2)
    assert by["bo4"]["pairwise_accuracy"] == pytest.approx(2 / 3)
    assert got["overall"]["n"] == 4 and got["overall"]["errors"] == 0
    # all values in {0, 1}: chosen 4,4,four,7 = 1,1,0,1; rejected four,5,five,seven,8,eight
    # = 0,1,0,0,1,0. bin 0: 5 values, 1 chosen -> |0 - 1/5|; bin 9: 5 values, 3 chosen
    # -> |1 - 3/5|; ECE = 1/2*0.2 + 1/2*0.4 = 0.3
    assert got["ece"] == pytest.approx(0.3)
    assert not math.isnan(got["mean_of_subsets"])


def test_cli_table_and_usage(tmp_path: Path) -> None:
    spec, data = _write(tmp_path)
    out = CliRunner().invoke(app, ["eval-rm", "--spec", str(spec), str(data)])
    assert out.exit_code == 0, out.output
    assert "math" in out.output and "bo4" in out.output and "0.667" in out.output
    out = CliRunner().invoke(app, ["eval-rm", "--spec", str(spec)])
    assert out.exit_code == 2 and "DATA or --dataset" in out.output
