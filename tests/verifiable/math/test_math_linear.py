"""Every cheap tier of ``math.answer`` is linear: no input stalls it.

A regex with nested quantifiers once took 31 s on a box holding ``1`` and a thousand
letters. These properties feed random text of up to 20,000 characters, drawn from the
pieces that trip parsers (letters, digits, LaTeX commands, braces, spaces, answer
phrases), through each cheap tier; each call must finish within 50 ms.
"""

from __future__ import annotations

import time
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.verifiable.answer_text import normalize_answer, parse_number, split_unit
from rewardsmith.verifiable.answers import extract_answer
from rewardsmith.verifiable.math.limits import limit_reason, parse_limit
from rewardsmith.verifiable.math.ops import evaluated_gap, restates, simplest_form_gap
from rewardsmith.verifiable.math.struct import CheapOracle, compare, parse_structure

PIECES = [
    "a",
    "x",
    "cm",
    "meters",
    " ",
    "  ",
    "\n",
    "1",
    "9",
    "0",
    ".",
    ",",
    ",\\!",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\\{",
    "\\}",
    "\\boxed{",
    "\\fbox",
    "\\frac",
    "\\frac{1}{2}",
    "\\sqrt",
    "\\text{",
    "\\mathbf{",
    "\\color{red}",
    "\\over",
    "\\pm",
    "\\le",
    "=",
    "<",
    "^",
    "_",
    "!",
    "$",
    "\\(",
    "\\)",
    "\\\\",
    "&",
    "'",
    "or",
    " and ",
    "The answer is ",
    "answer:",
    "**Final Answer**: ",
    "the correct value is ",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "####",
    "\\overline{",
    "e6",
    "\\times 10^{",
    "\\int",
    "\\binom",
    "is wrong",
    "\\ldots",
    "\\cup",
    "\\infty",
    "%",
    "\\%",
    "\\circ",
]
TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=4000).map(
    lambda parts: "".join(parts)[:20_000]
)
LONG = st.builds(
    lambda piece, n, tail: piece * n + tail,
    st.sampled_from(PIECES),
    st.integers(1, 20_000),
    st.sampled_from(["", "}", "1}", " 3", "\\boxed{1}"]),
).map(lambda s: s[:20_000])
DEADLINE = settings(
    max_examples=60,
    deadline=timedelta(milliseconds=50),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _tiers(text: str) -> None:
    found = extract_answer(text, fallback_last_number=True)
    answer = normalize_answer(text, drop_prefix=False, keep_unit=True)
    split_unit(answer)
    parse_number(answer)
    evaluated_gap(answer, "1")
    simplest_form_gap(answer, "1")
    restates(answer, "1", text)
    if found.text is not None:
        normalize_answer(found.text)
    if parse_limit(answer) is None:
        limit_reason(answer)
        compare(parse_structure(answer), parse_structure("(1, 2]"), CheapOracle())


@DEADLINE
@given(TEXT)
def test_random_text_through_every_cheap_tier_is_fast(text):
    _tiers(text)


@DEADLINE
@given(LONG)
def test_one_piece_repeated_through_every_cheap_tier_is_fast(text):
    _tiers(text)


def test_the_stalls_found_by_red_teaming_finish_fast():
    reward = rewardsmith.load("math.answer", symbolic=False)
    stalls = [
        "\\boxed{1" + "a" * 1000 + "}",  # 31 s before: unit words after a number
        ("\\boxed{1" + "a" * 1000 + "} ") * 20,  # 17 s
        "The answer is " + "1" + "a" * 5000,
        "answer is " * 9_900,
    ]
    batch = [Sample(completion=c, reference="1") for c in stalls]
    start = time.perf_counter()
    scores = reward.score(batch)
    assert time.perf_counter() - start < 2.0  # hang guard: these took 15-34 s
    assert [s.value for s in scores] == [0.0] * len(stalls)
