"""Generate the bundled example math rollouts, deterministically from a seed.

Run ``python examples/make_math_rollouts.py [--out PATH] [--seed N]``. The default output is
``src/rewardsmith/examples/math_rollouts.jsonl`` (relative to the repository, wherever the
script is run from) and the default seed is 0; the committed file is exactly what seed 0
produces, and ``tests/test_examples.py`` checks that byte for byte.

Format: one JSON object per line, GRPO style, 32 prompts x 8 rollouts = 256 rows::

    {"prompt": "Solve the problem. Think inside <think></think>, then ...\\n\\nProblem: ...",
     "completion": "<think>\\n...\\n</think>\\n<answer>\\boxed{42}</answer>",
     "reference": "42",          # gold answer: "42", "-7", "3/4" or "2.5"
     "group": "p017",            # same for the 8 rollouts of one prompt
     "data_source": "synthetic/gsm",   # or "synthetic/math"
     "kind": "correct"}          # what the completion was built to be, for tests and audits

Problems come from 15 templates (GSM8K-like word problems, MATH-like algebra, fractions,
counting, geometry, probability) filled with numbers from ``random.Random(seed)``; gold
answers are computed with ``fractions.Fraction``, so they are exact.

Kinds of completion (each group gets an even share of every kind, then is shuffled):

==================  =====  ===============================================================
kind                share  what it looks like
==================  =====  ===============================================================
``correct``          40%   well formed; reasoning with scratch values; the right answer in one
                           of several forms (``42``, ``\\boxed{42}``, ``The answer is 42.``,
                           ``#### 42``, ``$42$``, ``42.0``, ``7,500``, ``\\frac{3}{4}``,
                           ``x = 5``); 200 to 3000 characters
``wrong``            25%   well formed, wrong answer (off by one, slip, wrong method); the
                           right value sometimes appears earlier as a scratch value
``malformed``        10%   right answer, broken format: no ``</think>``, answer outside tags,
                           tags in the wrong order, text after ``</answer>``, or no tags at
                           all but a ``\\boxed{}`` answer
``truncated``        10%   cut off mid-reasoning (no ``</think>``, no answer), 3000-6000 chars
``answer_spraying``   8%   well formed, several candidate answers including the right one
``other``             7%   empty ``<answer></answer>``, a restated question, or an opener only
==================  =====  ===============================================================

Only the standard library is used; nothing depends on the global ``random`` state, on set
order or on hash randomisation, so the output is byte-identical across runs and machines.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

N_PROMPTS = 32
ROLLOUTS_PER_PROMPT = 8
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/rewardsmith/examples/math_rollouts.jsonl"
GSM, MATH = "synthetic/gsm", "synthetic/math"
INSTRUCTION = (
    "Solve the problem. Think inside <think></think>, then give the final answer inside "
    "<answer></answer>.\n\nProblem: "
)
KIND_SHARES: tuple[tuple[str, int], ...] = (
    ("correct", 40),
    ("wrong", 25),
    ("malformed", 10),
    ("truncated", 10),
    ("answer_spraying", 8),
    ("other", 7),
)
NAMES = ("Maya", "Liam", "Priya", "Tom", "Aisha", "Carlos", "Mei", "Jonas", "Fatima", "Noah")
OPENERS = (
    "Let me work through this step by step.",
    "Okay, let's see what the problem is asking.",
    "First, I'll pick out the numbers we are given.",
    "Alright, let me set this up carefully.",
    "Let's solve this problem step by step.",
)
FILLERS = (
    "Hmm, let me make sure I'm answering the question that was actually asked.",
    "I should be careful with the order of operations here.",
    "Let me redo the arithmetic slowly, since small slips are easy to make.",
    "Wait, is there a trick in the wording? I don't think so.",
    "Another way to check is to work backwards from the result.",
    "Okay, that matches what I had before.",
    "I'll keep every intermediate value exact instead of rounding.",
    "Let me think about whether any quantity was counted twice.",
    "Actually, let me re-check that last computation digit by digit.",
    "Nothing was left out, as far as I can tell.",
)
BARE_OPENERS = (
    "Let's solve this problem step by step.",
    "Okay, let me think about this.",
    "<think>\nHmm.",
)
CLOSINGS = ("So the final answer is {}.", "Therefore the answer is {}.", "Final answer: {}.")
TRAILERS = (
    "I hope this helps! Let me know if you have any other questions.",
    "Note: this assumes the numbers in the problem are exact.",
    "<|im_end|>\nUser: thanks!",
)
# (min, max) target length of the reasoning for terse, medium and verbose rollouts.
LENGTH_BANDS = ((160, 380), (500, 1100), (1400, 2600))


@dataclass(frozen=True, slots=True)
class Problem:
    """One templated problem: its text, exact answer and the worked steps towards it."""

    text: str
    answer: Fraction
    steps: tuple[str, ...]
    final: Callable[[str], str]  # the last step, given the rendered result
    distractor: Fraction  # what a plausible wrong method gives
    source: str
    decimal: bool = False  # write non-integer values as decimals rather than a/b
    variable: str | None = None  # "x" for solve-for-x problems


# --- numbers -----------------------------------------------------------------------------


def plain(value: Fraction, decimal: bool = False) -> str:
    """``42``, ``-7``, ``3/4``, or ``2.5`` when ``decimal`` and the expansion terminates."""
    if value.denominator == 1:
        return str(value.numerator)
    places = _decimal_places(value.denominator)
    if not decimal or places is None:
        return f"{value.numerator}/{value.denominator}"
    digits = str(abs(value.numerator * 10**places // value.denominator)).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def _decimal_places(denominator: int) -> int | None:
    """How many decimal places 1/denominator needs, or None if it never terminates."""
    for places in range(7):
        if 10**places % denominator == 0:
            return places
    return None


def latex_frac(value: Fraction) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def answer_forms(value: Fraction, problem: Problem) -> list[str]:
    """The ways a model might write ``value`` inside its answer block."""
    text = plain(value, problem.decimal)
    forms = [text, f"\\boxed{{{text}}}", f"The answer is {text}.", f"#### {text}", f"${text}$"]
    if value.denominator == 1:
        forms.append(f"{text}.0")
        if abs(value) >= 1000:
            forms += [f"{value.numerator:,}"] * 3
    elif problem.decimal and "/" not in text:
        forms += [f"{text}0"] if len(text.split(".")[1]) == 1 else []
    else:
        tex = latex_frac(value)
        forms += [tex, f"\\boxed{{{tex}}}", f"${tex}$"]
    if problem.variable:
        forms += [f"{problem.variable} = {text}"] * 2
    return forms


def wrong_candidates(problem: Problem) -> list[Fraction]:
    """Plausible wrong answers: off by one, arithmetic slips, sign errors, wrong method."""
    answer = problem.answer
    if answer.denominator == 1 or problem.decimal:
        found = [answer + 1, answer - 1, answer + 10, answer - 2, problem.distractor]
        found += [-answer] if answer < 0 else []
    else:
        p, q = answer.numerator, answer.denominator
        found = [Fraction(p + 1, q), Fraction(p - 1, q), Fraction(q, p), problem.distractor]
    unique = dict.fromkeys(v for v in found if v not in (answer, 0))  # keeps first-seen order
    return list(unique)


def pick_wrong(problem: Problem, rng: random.Random) -> Fraction:
    candidates = wrong_candidates(problem)
    if problem.distractor in candidates and rng.random() < 0.4:
        return problem.distractor
    return rng.choice(candidates)


# --- problem templates -------------------------------------------------------------------


def shopping(rng: random.Random) -> Problem:
    name = rng.choice(NAMES)
    n1, p1, n2, p2 = rng.randint(3, 9), rng.randint(2, 6), rng.randint(2, 8), rng.randint(1, 4)
    cost1, cost2 = n1 * p1, n2 * p2
    total = cost1 + cost2
    bill = 50 if total < 45 else 100
    text = (
        f"{name} buys {n1} notebooks at ${p1} each and {n2} pens at ${p2} each, and pays "
        f"with a ${bill} bill. How much change, in dollars, does {name} get back?"
    )
    steps = (
        f"The notebooks cost {n1} * {p1} = {cost1} dollars.",
        f"The pens cost {n2} * {p2} = {cost2} dollars.",
        f"Together that is {cost1} + {cost2} = {total} dollars.",
    )
    return Problem(
        text=text,
        answer=Fraction(bill - total),
        steps=steps,
        final=lambda v: f"The change is {bill} - {total} = {v} dollars.",
        distractor=Fraction(total),
        source=GSM,
    )


def discount(rng: random.Random) -> Problem:
    item = rng.choice(("jacket", "lamp", "pair of boots", "backpack"))
    price = rng.choice((40, 60, 75, 80, 90, 120, 150, 250))
    pct = rng.choice((10, 15, 20, 25, 30, 40))
    off = Fraction(price * pct, 100)
    text = (
        f"A {item} costs ${price}. It is on sale for {pct}% off. What is the sale price in dollars?"
    )
    steps = (f"{pct}% of {price} is {price} * {pct} / 100 = {plain(off, True)} dollars off.",)
    return Problem(
        text=text,
        answer=price - off,
        steps=steps,
        final=lambda v: f"The sale price is {price} - {plain(off, True)} = {v} dollars.",
        distractor=off,
        source=GSM,
        decimal=True,
    )


def ribbon(rng: random.Random) -> Problem:
    pieces = rng.choice((4, 8))
    each = Fraction(rng.choice([n for n in range(5, 40) if n % 4]), 4)
    length = int(each * pieces)
    text = (
        f"A ribbon {length} metres long is cut into {pieces} equal pieces. "
        "How long is each piece, in metres?"
    )
    steps = (
        f"{length} metres is {length} * 100 = {length * 100} centimetres.",
        f"Each piece is {length * 100} / {pieces} = {plain(each * 100)} centimetres.",
    )
    return Problem(
        text=text,
        answer=each,
        steps=steps,
        final=lambda v: f"In metres that is {plain(each * 100)} / 100 = {v}.",
        distractor=Fraction(length - pieces),
        source=GSM,
        decimal=True,
    )


def travel(rng: random.Random) -> Problem:
    s1, s2 = rng.randrange(40, 95, 5), rng.randrange(40, 95, 5)
    t1, t2 = rng.randint(2, 4), rng.randint(1, 3)
    hours2 = f"{t2} hours" if t2 > 1 else "1 hour"
    text = (
        f"A train travels at {s1} km/h for {t1} hours and then at {s2} km/h for {hours2}. "
        "How many kilometres does it travel in total?"
    )
    steps = (
        f"First part: {s1} * {t1} = {s1 * t1} km.",
        f"Second part: {s2} * {t2} = {s2 * t2} km.",
    )
    return Problem(
        text=text,
        answer=Fraction(s1 * t1 + s2 * t2),
        steps=steps,
        final=lambda v: f"Total distance: {s1 * t1} + {s2 * t2} = {v} km.",
        distractor=Fraction(s1 * (t1 + t2)),
        source=GSM,
    )


def production(rng: random.Random) -> Problem:
    boxes, per_box = rng.randrange(125, 500, 25), rng.choice((6, 8, 12, 24))
    days = rng.choice((10, 15, 20, 30))
    daily = boxes * per_box
    text = (
        f"A factory packs {boxes} boxes a day, and each box holds {per_box} cans. "
        f"How many cans does it pack in {days} days?"
    )
    steps = (f"Cans per day: {boxes} * {per_box} = {daily}.",)
    return Problem(
        text=text,
        answer=Fraction(daily * days),
        steps=steps,
        final=lambda v: f"Over {days} days: {daily} * {days} = {v} cans.",
        distractor=Fraction(boxes * days),
        source=GSM,
    )


def fraction_left(rng: random.Random) -> Problem:
    name, d1, d2 = rng.choice(NAMES), rng.choice((2, 3, 4, 5)), rng.choice((2, 3, 4))
    total = d1 * d2 * rng.randint(2, 6)
    given1 = total // d1
    rest = total - given1
    given2 = rest // d2
    text = (
        f"{name} has {total} marbles. {name} gives 1/{d1} of them to a sister, then 1/{d2} "
        "of the remaining marbles to a friend. How many marbles are left?"
    )
    steps = (
        f"To the sister: {total} / {d1} = {given1}, leaving {total} - {given1} = {rest}.",
        f"To the friend: {rest} / {d2} = {given2}.",
    )
    return Problem(
        text=text,
        answer=Fraction(rest - given2),
        steps=steps,
        final=lambda v: f"Left: {rest} - {given2} = {v} marbles.",
        distractor=Fraction(total - given1 - total // d2),
        source=GSM,
    )


def temperature(rng: random.Random) -> Problem:
    hours, drop = rng.randint(3, 6), rng.randint(3, 6)
    start = rng.randint(1, drop * hours - 1)
    fall = drop * hours
    text = (
        f"At 6 p.m. the temperature was {start} degrees Celsius. It fell by {drop} degrees "
        f"every hour for the next {hours} hours. What was the temperature then, in degrees?"
    )
    steps = (f"Total fall: {drop} * {hours} = {fall} degrees.",)
    return Problem(
        text=text,
        answer=Fraction(start - fall),
        steps=steps,
        final=lambda v: f"Then {start} - {fall} = {v} degrees.",
        distractor=Fraction(fall - start),
        source=GSM,
    )


def solve_linear(rng: random.Random) -> Problem:
    x = rng.choice([v for v in range(-9, 13) if v != 0])
    a, b = rng.randint(2, 9), rng.choice([v for v in range(-15, 21) if v != 0])
    c = a * x + b
    sign = "+" if b > 0 else "-"
    text = f"Solve for $x$: ${a}x {sign} {abs(b)} = {c}$."
    move = f"Subtract {b}" if b > 0 else f"Add {-b}"
    steps = (f"{move} on both sides: {a}x = {c - b}.",)
    return Problem(
        text=text,
        answer=Fraction(x),
        steps=steps,
        final=lambda v: f"Divide by {a}: x = {c - b}/{a} = {v}.",
        distractor=Fraction(c + b, a),
        source=MATH,
        variable="x",
    )


def fraction_arith(rng: random.Random) -> Problem:
    while True:
        f1 = Fraction(rng.randint(1, 8), rng.randint(2, 9))
        f2 = Fraction(rng.randint(1, 8), rng.randint(2, 9))
        op = rng.choice("+-")
        f1, f2 = (f1, f2) if op == "+" or f1 > f2 else (f2, f1)
        result = f1 + f2 if op == "+" else f1 - f2
        if result.denominator != 1 and f1.denominator != 1 and f2.denominator != 1:
            break
    lcd = math.lcm(f1.denominator, f2.denominator)
    n1, n2 = f1.numerator * lcd // f1.denominator, f2.numerator * lcd // f2.denominator
    text = (
        f"Compute ${latex_frac(f1)} {op} {latex_frac(f2)}$. "
        "Express your answer as a common fraction."
    )
    steps = (
        f"The common denominator is {lcd}.",
        f"{plain(f1)} = {n1}/{lcd} and {plain(f2)} = {n2}/{lcd}.",
    )
    total = n1 + n2 if op == "+" else n1 - n2
    wrong_num = f1.numerator + f2.numerator if op == "+" else f1.numerator - f2.numerator
    return Problem(
        text=text,
        answer=result,
        steps=steps,
        final=lambda v: f"So we get {total}/{lcd}, which is {v} in lowest terms.",
        distractor=Fraction(wrong_num, f1.denominator + f2.denominator),
        source=MATH,
    )


def evaluate(rng: random.Random) -> Problem:
    while True:
        a, b, c, d = rng.randint(2, 9), rng.randint(3, 9), rng.randint(3, 9), rng.randint(1, 9)
        if a - b * c + d < 0:
            break
    text = f"Evaluate ${a} - {b} \\times {c} + {d}$."
    steps = (
        f"Multiplication comes first: {b} \\times {c} = {b * c}.",
        f"Then {a} - {b * c} = {a - b * c}.",
    )
    return Problem(
        text=text,
        answer=Fraction(a - b * c + d),
        steps=steps,
        final=lambda v: f"Finally {a - b * c} + {d} = {v}.",
        distractor=Fraction((a - b) * c + d),
        source=MATH,
    )


def round_robin(rng: random.Random) -> Problem:
    n = rng.randint(6, 16)
    text = (
        f"In a tournament, each of {n} teams plays every other team exactly once. "
        "How many games are played?"
    )
    steps = (
        f"Each team plays {n - 1} others, giving {n} * {n - 1} = {n * (n - 1)} team-games.",
        "Every game involves two teams, so each game was counted twice.",
    )
    return Problem(
        text=text,
        answer=Fraction(n * (n - 1) // 2),
        steps=steps,
        final=lambda v: f"{n * (n - 1)} / 2 = {v} games.",
        distractor=Fraction(n * (n - 1)),
        source=MATH,
    )


def divisible(rng: random.Random) -> Problem:
    limit = rng.randint(60, 300)
    p, q = rng.choice(((2, 3), (3, 5), (2, 5), (3, 7), (4, 5)))
    a, b, both = limit // p, limit // q, limit // (p * q)
    text = f"How many positive integers less than or equal to {limit} are divisible by {p} or {q}?"
    steps = (
        f"Multiples of {p}: floor({limit}/{p}) = {a}.",
        f"Multiples of {q}: floor({limit}/{q}) = {b}.",
        f"Multiples of both, i.e. of {p * q}: floor({limit}/{p * q}) = {both}.",
    )
    return Problem(
        text=text,
        answer=Fraction(a + b - both),
        steps=steps,
        final=lambda v: f"By inclusion-exclusion: {a} + {b} - {both} = {v}.",
        distractor=Fraction(a + b),
        source=MATH,
    )


def right_triangle(rng: random.Random) -> Problem:
    a, b, c = rng.choice(((3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25)))
    k = rng.randint(1, 3)
    a, b, c = a * k, b * k, c * k
    text = (
        f"A right triangle has a hypotenuse of {c} cm and one leg of {a} cm. "
        "What is its area, in square centimetres?"
    )
    steps = (
        f"By Pythagoras the other leg satisfies b^2 = {c}^2 - {a}^2 = {c * c} - {a * a} = {b * b}.",
        f"So b = {b}.",
    )
    return Problem(
        text=text,
        answer=Fraction(a * b, 2),
        steps=steps,
        final=lambda v: f"Area = {a} * {b} / 2 = {v}.",
        distractor=Fraction(a * b),
        source=MATH,
    )


def probability(rng: random.Random) -> Problem:
    red, blue = rng.randint(2, 6), rng.randint(2, 7)
    total = red + blue
    text = (
        f"A bag holds {red} red and {blue} blue marbles. Two marbles are drawn without "
        "replacement. What is the probability that both are red? Express your answer as a "
        "common fraction."
    )
    steps = (
        f"The first marble is red with probability {red}/{total}.",
        f"Then {red - 1} of the remaining {total - 1} are red: {red - 1}/{total - 1}.",
    )
    return Problem(
        text=text,
        answer=Fraction(red * (red - 1), total * (total - 1)),
        steps=steps,
        final=lambda v: f"Multiply: {red * (red - 1)}/{total * (total - 1)} = {v}.",
        distractor=Fraction(red, total) ** 2,
        source=MATH,
    )


def missing_value(rng: random.Random) -> Problem:
    mean = rng.randint(2, 9)
    known = [rng.randint(3, 15) for _ in range(4)]
    total, partial = 5 * mean, sum(known)
    listed = ", ".join(str(v) for v in known)
    text = (
        f"The mean of five numbers is {mean}. Four of the numbers are {listed}. "
        "What is the fifth number?"
    )
    steps = (
        f"The five numbers add up to 5 * {mean} = {total}.",
        f"The four known numbers add up to {' + '.join(str(v) for v in known)} = {partial}.",
    )
    return Problem(
        text=text,
        answer=Fraction(total - partial),
        steps=steps,
        final=lambda v: f"The fifth is {total} - {partial} = {v}.",
        distractor=Fraction(4 * mean - partial),
        source=MATH,
    )


TEMPLATES: tuple[Callable[[random.Random], Problem], ...] = (
    shopping,
    solve_linear,
    discount,
    fraction_arith,
    travel,
    evaluate,
    ribbon,
    round_robin,
    production,
    divisible,
    fraction_left,
    right_triangle,
    temperature,
    probability,
    missing_value,
)


# --- completions -------------------------------------------------------------------------


def think(
    problem: Problem, rng: random.Random, ending: Sequence[str], target: int, closing: str | None
) -> str:
    """Reasoning text: opener, worked steps, ``ending``, then filler until ``target`` chars."""
    lines = [rng.choice(OPENERS), *problem.steps, *ending]
    size = sum(len(line) + 1 for line in lines)
    while size < target:
        line = filler(problem, rng)
        while line in lines[-3:]:  # loops are realistic, verbatim stutters less so
            line = filler(problem, rng)
        lines.append(line)
        size += len(line) + 1
    if closing is not None:
        lines.append(rng.choice(CLOSINGS).format(closing))
    return "\n".join(lines)


def filler(problem: Problem, rng: random.Random) -> str:
    """One more line of the double-checking that long rollouts are full of."""
    roll = rng.random()
    if roll < 0.35:
        return f"Let me double-check this step: {rng.choice(problem.steps)}"
    if roll < 0.5:
        return f"Re-reading the problem to be sure: {problem.text}"
    return rng.choice(FILLERS)


def wrap(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n<answer>{answer}</answer>"


def correct(problem: Problem, rng: random.Random) -> str:
    value = plain(problem.answer, problem.decimal)
    target = rng.randint(*rng.choice(LENGTH_BANDS))
    reasoning = think(problem, rng, [problem.final(value)], target, value)
    return wrap(reasoning, rng.choice(answer_forms(problem.answer, problem)))


def wrong(problem: Problem, rng: random.Random) -> str:
    bad = pick_wrong(problem, rng)
    value = plain(bad, problem.decimal)
    if rng.random() < 0.4:  # reaches the right value, then talks itself out of it
        right = plain(problem.answer, problem.decimal)
        doubt = f"Hmm, wait. I think I slipped somewhere; it should be {value}."
        ending = [problem.final(right), doubt]
    else:
        ending = [problem.final(value)]
    target = rng.randint(*rng.choice(LENGTH_BANDS[:2]))
    return wrap(think(problem, rng, ending, target, value), rng.choice(answer_forms(bad, problem)))


def malformed(problem: Problem, rng: random.Random) -> str:
    value = plain(problem.answer, problem.decimal)
    reasoning = think(problem, rng, [problem.final(value)], rng.randint(300, 1200), value)
    answer = rng.choice(answer_forms(problem.answer, problem))
    variant = rng.randrange(5)
    if variant == 0:  # missing </think>
        return f"<think>\n{reasoning}\n<answer>{answer}</answer>"
    if variant == 1:  # answer outside the tags
        return f"<think>\n{reasoning}\n</think>\nThe answer is {value}."
    if variant == 2:  # tags in the wrong order
        return f"<answer>{answer}</answer>\n<think>\n{reasoning}\n</think>"
    if variant == 3:  # text after </answer>
        return f"{wrap(reasoning, answer)}\n{rng.choice(TRAILERS)}"
    return f"{reasoning}\n\nTherefore, the answer is $\\boxed{{{value}}}$."  # no tags at all


def truncated(problem: Problem, rng: random.Random) -> str:
    """Hit the token limit: long, cut off mid-word, no ``</think>`` and no answer."""
    length = rng.randint(3000, 6000)
    prefix = "<think>\n"
    reasoning = think(problem, rng, [], length, None)
    return (prefix + reasoning)[:length]


def answer_spraying(problem: Problem, rng: random.Random) -> str:
    values = [problem.answer, *rng.sample(wrong_candidates(problem), rng.choice((1, 2)))]
    rng.shuffle(values)
    shown = [plain(v, problem.decimal) for v in values]
    variant = rng.randrange(4)
    if variant == 0:
        answer = " or ".join(f"\\boxed{{{s}}}" for s in shown)
    elif variant == 1:
        answer = f"It is {', '.join(shown[:-1])} or {shown[-1]}"
    elif variant == 2:
        answer = f"{shown[0]} (or possibly {', '.join(shown[1:])})"
    else:
        answer = "\n".join(shown)
    ending = [f"I'm torn between {' and '.join(shown)}, so I'll list them all."]
    return wrap(think(problem, rng, ending, rng.randint(200, 900), None), answer)


def other(problem: Problem, rng: random.Random) -> str:
    variant = rng.randrange(3)
    if variant == 0:  # empty answer block
        return wrap(think(problem, rng, [], rng.randint(150, 500), None), "")
    if variant == 1:  # restates the question and stops
        return f"The problem asks: {problem.text}\nSo we need to find that."
    return rng.choice(BARE_OPENERS)


BUILDERS: dict[str, Callable[[Problem, random.Random], str]] = {
    "correct": correct,
    "wrong": wrong,
    "malformed": malformed,
    "truncated": truncated,
    "answer_spraying": answer_spraying,
    "other": other,
}


# --- assembly ----------------------------------------------------------------------------


def kind_counts(total: int) -> list[tuple[str, int]]:
    """Split ``total`` rows by ``KIND_SHARES`` with largest remainders (ties: table order)."""
    exact = [(kind, Fraction(total * share, 100)) for kind, share in KIND_SHARES]
    counts = {kind: math.floor(value) for kind, value in exact}
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] % 1), i))
    for i in by_remainder[: total - sum(counts.values())]:
        counts[exact[i][0]] += 1
    return [(kind, counts[kind]) for kind, _ in KIND_SHARES]


def deal_kinds(groups: int, per_group: int) -> list[list[str]]:
    """Deal the kinds round-robin, so every group gets an even share of each kind."""
    pool = [kind for kind, count in kind_counts(groups * per_group) for _ in range(count)]
    return [pool[g::groups] for g in range(groups)]


def prompt_text(problem: Problem) -> str:
    return INSTRUCTION + problem.text


def generate(seed: int = 0) -> list[dict[str, str]]:
    """All rows, in file order; the same ``seed`` always gives the same rows."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for index, kinds in enumerate(deal_kinds(N_PROMPTS, ROLLOUTS_PER_PROMPT)):
        problem = TEMPLATES[index % len(TEMPLATES)](rng)
        rng.shuffle(kinds)
        for kind in kinds:
            rows.append(
                {
                    "prompt": prompt_text(problem),
                    "completion": BUILDERS[kind](problem, rng),
                    "reference": plain(problem.answer, problem.decimal),
                    "group": f"p{index:03d}",
                    "data_source": problem.source,
                    "kind": kind,
                }
            )
    return rows


def write_jsonl(rows: Sequence[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the bundled example math rollouts.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSONL path")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    rows = generate(args.seed)
    write_jsonl(rows, args.out)
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
