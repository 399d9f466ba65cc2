r"""A seeded, labelled corpus of chain-of-thought completions for math-answer checkers.

``make_corpus(n, seed)`` returns ``n`` items, each a completion shaped like a model's
reasoning (a few sentences of arithmetic with scratch numbers) that ends in a final
answer, the reference answer as a MATH or GSM8K dataset would store it, and whether the
final answer is right. Same ``(n, seed)``, same corpus: everything is drawn from one
``random.Random(seed)``.

Answer forms (``Item.form``), dealt round-robin then shuffled, so every form is present
from ``n >= 12``: ``boxed`` (``\boxed{}`` in ``$...$`` or ``\[...\]``), ``answer_is``
("The answer is $x$." or unwrapped "The answer is (4, 9]."), ``hashes`` (GSM8K
``#### 42``, plain numbers only), ``answer_tag`` (``<think>...</think><answer>x</answer>``),
``final_answer`` (Minerva's "Final Answer: The final answer is $x$. I hope it is
correct." or a bare "Final Answer: x") and ``answer_colon`` (unwrapped LaTeX after
"Answer:", such as ``Answer: \frac25``).

Answer kinds (``Item.kind``), weighted: integers (with near misses such as 584300 for
584301), negatives, decimals, fractions (``\frac{3}{4}``, ``3/4``, ``\dfrac``, ``\frac34``,
``0.75``), thousands separators, percentages, degrees, ``\text{}`` units, ``x = 5``,
scientific notation, multiple-choice letters, tuples, intervals (open and closed ends,
unions), sets, matrices, equations, symbolic expressions (``\frac{\sqrt{3}}{2}``,
``2\sqrt{2}`` vs ``\sqrt{8}``, ``x^2-1`` vs ``(x-1)(x+1)``, multiples of ``\pi``,
binomials) and 5,000-digit integers.

Proportions: exactly ``round(0.4 n)`` items are wrong and ``round(0.02 n)`` pathological;
both sets are drawn by shuffling. Right items use the reference's own rendering 40% of
the time and an equivalent but different rendering otherwise (``0.5`` for
``\frac12``, ``1000`` for ``1,000``, ``\sqrt{8}`` for ``2\sqrt2``, ``x = 5`` for ``5``).
A quarter of the wrong items mention the right value as a scratch number before a
wrong final answer, and some right items mention a wrong value first. The pathological
2% are 20,000-character completions (some truncated inside an unclosed ``\boxed{``,
which is wrong: no final answer), answers inside hundreds of nested braces, 40-level
continued fractions, power towers such as ``9^{9^{9^{9}}}`` and factorials such as
``100000!``.

How labels are known: no checker is run. Each kind builds its reference from drawn
parameters, then lists renderings that are equal to it by a rule of arithmetic
(reordering a set, scaling a fraction's terms, ``a\sqrt{b} = \sqrt{a^2 b}``, adding the
unit or the degree sign, which graders of MATH ignore) and renderings that differ from it
by a change that provably changes the value (a digit, a sign, an end of an interval, an
element of a set, a matrix entry, the top of a tower); where the difference depends on the
parameters, they are drawn so that it holds (``a != b`` before swapping a tuple), and
the continued fractions are evaluated exactly with ``fractions.Fraction``. A right item
shows one of the first list, a wrong item one of the second.

Usage: python benchmarks/math_corpus.py [--n 2000] [--seed 0] [--show 5]
"""

from __future__ import annotations

import argparse
import math
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

FORMS = ("boxed", "answer_is", "hashes", "answer_tag", "final_answer", "answer_colon")
_FORM_DECK = ("boxed",) * 4 + ("answer_is",) * 2 + FORMS[2:] + ("answer_tag", "answer_colon")
WRONG_SHARE = 0.4
PATHOLOGICAL_SHARE = 0.02
LONG_CHARS = 20_000
_PLAIN_NUMBER = re.compile(r"-?[\d,]*\.?\d+")


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled completion.

    Args:
        completion: the model's output, reasoning then a final answer.
        reference: the gold answer as a dataset stores it (LaTeX without ``$``).
        label: whether the completion's final answer equals the reference.
        form: how the final answer is marked (one of ``FORMS``).
        pathological: one of the 2% built to be slow or deep for a checker.
        kind: what sort of answer it is (``integer``, ``interval``, ``tower``, ...).
    """

    completion: str
    reference: str
    label: bool
    form: str
    pathological: bool
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Spec:
    """A reference, renderings equal to it and renderings that differ from it."""

    reference: str
    right: tuple[str, ...]
    wrong: tuple[str, ...]


# --- answer kinds ---------------------------------------------------------------------------


def _change_digit(rng: random.Random, digits: str) -> str:
    i = rng.randrange(len(digits))
    choices = [d for d in "0123456789" if d != digits[i] and not (i == 0 and d == "0" and len(digits) > 1)]
    return digits[:i] + rng.choice(choices) + digits[i + 1 :]


def integer(rng: random.Random) -> Spec:
    n = rng.choice([rng.randint(0, 99), rng.randint(100, 9_999), rng.randint(100_000, 999_999)])
    wrong = [str(n + 1), str(n - 1), _change_digit(rng, str(n))]
    if n >= 100_000:  # the near miss a 1e-4 relative tolerance accepts
        wrong += [str(n + 1), str(n - 1)]
    return Spec(str(n), (str(n), str(n), f"{n}.0"), tuple(wrong))


def negative(rng: random.Random) -> Spec:
    n = rng.randint(1, 9_999)
    return Spec(f"-{n}", (f"-{n}", f"-{n}.0"), (str(n), f"-{n + 1}", f"-{_change_digit(rng, str(n))}"))


def decimal(rng: random.Random) -> Spec:
    whole = rng.randint(0, 99)
    frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 2))) + rng.choice("123456789")
    s = f"{whole}.{frac}"
    right = [s, s, s + "0"] + ([s[1:]] if whole == 0 else [])
    wrong = [f"{whole}.{_change_digit(rng, frac)}", f"{whole + 1}.{frac}", f"{whole}{frac}"]
    return Spec(s, tuple(right), tuple(wrong))


def thousands(rng: random.Random) -> Spec:
    n = rng.randint(1_000, 9_999_999)
    commas, changed = f"{n:,}", f"{int(_change_digit(rng, str(n))):,}"
    brace = commas.replace(",", "{,}")
    ref = rng.choice([commas, str(n)])
    return Spec(ref, (commas, str(n), brace, str(n)), (changed, changed.replace(",", ""), f"{n + 1:,}"))


def _fraction_renders(p: int, q: int) -> list[str]:
    out = [rf"\frac{{{p}}}{{{q}}}", f"{p}/{q}", rf"\dfrac{{{p}}}{{{q}}}", rf"\tfrac{{{p}}}{{{q}}}",
           rf"\frac{{{2 * p}}}{{{2 * q}}}"]
    if p < 10 and q < 10:
        out.append(rf"\frac{p}{q}")
    if all(f in (2, 5) for f in _factors(q)):
        out.append(str(Decimal(p) / Decimal(q)))
    return out


def _factors(q: int) -> list[int]:
    out, f = [], 2
    while q > 1:
        while q % f == 0:
            out.append(f)
            q //= f
        f += 1
    return out


def fraction(rng: random.Random) -> Spec:
    q = rng.randint(2, 16)
    p = rng.choice([k for k in range(1, 2 * q) if math.gcd(k, q) == 1])
    right = _fraction_renders(p, q)
    wrong = [rf"\frac{{{p + 1}}}{{{q}}}", rf"\frac{{{p}}}{{{q + 1}}}", f"{p}/{q + 1}"]
    if p != 1:
        wrong.append(rf"\frac{{{q}}}{{{p}}}")
    decimals = [r for r in right if "." in r]
    ref = decimals[0] if decimals and rng.random() < 0.3 else right[0]  # sometimes 0.5 is the reference
    if rng.random() < 0.2:
        wrong = [r for r in right if "." not in r][:2]  # a sign error
        right = ["-" + r for r in right] + [rf"\frac{{-{p}}}{{{q}}}"]
        ref = "-" + ref
    return Spec(ref, tuple(right), tuple(wrong))


def percent(rng: random.Random) -> Spec:
    p = rng.randint(1, 99)
    wrong = [rf"{p + 1}\%", rf"{_change_digit(rng, str(p))}\%"]
    if 100 - p != p:
        wrong.append(rf"{100 - p}\%")
    return Spec(rf"{p}\%", (rf"{p}\%", f"{p}%", rf"{p} \%"), tuple(wrong))


def degrees(rng: random.Random) -> Spec:
    d = rng.randint(1, 179)
    right = (rf"{d}^\circ", rf"{d}^{{\circ}}", f"{d}°", str(d), rf"{d} \text{{ degrees}}")
    wrong = [rf"{d + 1}^\circ", rf"{2 * d}^\circ"]
    if 180 - d != d:
        wrong.append(rf"{180 - d}^\circ")
    return Spec(rf"{d}^\circ", right, tuple(wrong))


UNITS = ("cm", "meters", "square units", "inches", "mph", "dollars", "hours")


def units(rng: random.Random) -> Spec:
    n, unit = rng.randint(2, 500), rng.choice(UNITS)
    right = [rf"{n}\text{{ {unit}}}", rf"{n} \text{{ {unit}}}", str(n)]
    if unit == "dollars":
        right.append(rf"\${n}")
    ref = rng.choice([str(n), right[0]])
    return Spec(ref, tuple(right), (rf"{n + 1}\text{{ {unit}}}", rf"{2 * n} \text{{ {unit}}}"))


def x_equals(rng: random.Random) -> Spec:
    n, var = rng.randint(1, 60) * rng.choice([1, -1]), rng.choice("xynk")
    return Spec(str(n), (f"{var} = {n}", f"{var}={n}"), (f"{var} = {n + 1}", f"{var} = {-n}"))


def scientific(rng: random.Random) -> Spec:
    m, e = rng.randint(11, 99), rng.randint(4, 9)
    if m % 10 == 0:
        m += 1
    mant = f"{m // 10}.{m % 10}"
    value = m * 10 ** (e - 1)
    right = [rf"{mant} \times 10^{{{e}}}", rf"{mant}\times10^{e}", rf"{mant} \cdot 10^{{{e}}}", str(value)]
    swapped = f"{m % 10}.{m // 10}"
    wrong = [rf"{mant} \times 10^{{{e + 1}}}", rf"{mant} \times 10^{{{e - 1}}}", str(value * 10)]
    if swapped != mant:
        wrong.append(rf"{swapped} \times 10^{{{e}}}")
    return Spec(rng.choice([right[0], str(value)]), tuple(right), tuple(wrong))


def choice(rng: random.Random) -> Spec:
    letter = rng.choice("ABCDE")
    right = (f"({letter})", letter, rf"\text{{({letter})}}", rf"\textbf{{({letter})}}")
    others = [c for c in "ABCDE" if c != letter]
    wrong = (*(f"({c})" for c in others), rng.choice(others))
    return Spec(rng.choice([letter, f"({letter})", rf"\text{{({letter})}}"]), right, wrong)


def _nonzero(rng: random.Random, lo: int, hi: int, avoid: tuple[int, ...] = ()) -> int:
    return rng.choice([k for k in range(lo, hi + 1) if k != 0 and k not in avoid])


def pair(rng: random.Random) -> Spec:
    a = _nonzero(rng, -9, 9)
    b = _nonzero(rng, -9, 9, (a,))
    right = (f"({a}, {b})", f"({a},{b})", rf"\left({a}, {b}\right)", rf"({a},\ {b})")
    return Spec(right[0], right, (f"({b}, {a})", f"({a}, {-b})", f"({a + 1}, {b})"))


_FLIP = {"(": "[", "[": "(", ")": "]", "]": ")"}


def interval(rng: random.Random) -> Spec:
    lo, hi = sorted(rng.sample(range(-20, 21), 2))
    left, end = rng.choice("(["), rng.choice(")]")
    lo_s, hi_s = str(lo), str(hi)
    roll = rng.random()
    if roll < 0.15:
        left, lo_s = "(", r"-\infty"
    elif roll < 0.3:
        end, hi_s = ")", r"\infty"
    ref = f"{left}{lo_s}, {hi_s}{end}"
    right = [ref, f"{left}{lo_s},{hi_s}{end}", rf"\left{left}{lo_s}, {hi_s}\right{end}"]
    wrong = []
    if lo_s != r"-\infty":  # a finite left end: flip it or move it
        wrong += [f"{_FLIP[left]}{lo_s}, {hi_s}{end}", f"{left}{lo - 1}, {hi_s}{end}"]
    if hi_s != r"\infty":
        wrong += [f"{left}{lo_s}, {hi_s}{_FLIP[end]}", f"{left}{lo_s}, {hi + 1}{end}"]
    if roll >= 0.3 and rng.random() < 0.2:  # a union; the tail starts past every change above
        tail, tail_closed = rf"({hi + 3}, \infty)", rf"[{hi + 3}, \infty)"
        right = [rf"{ref} \cup {tail}", rf"{tail} \cup {ref}"]
        wrong = [rf"{ref} \cup {tail_closed}"] + [rf"{w} \cup {tail}" for w in wrong]
        ref = right[0]
    return Spec(ref, tuple(right), tuple(wrong))


def finite_set(rng: random.Random) -> Spec:
    elems = rng.sample(range(-12, 13), rng.randint(3, 4))
    shuffled = elems[:]
    rng.shuffle(shuffled)

    def show(xs: list[int]) -> str:
        return r"\{" + ", ".join(map(str, xs)) + r"\}"

    outsider = rng.choice([k for k in range(-12, 13) if k not in elems])
    wrong = (show([*elems[:-1], outsider]), show(elems[:-1]))
    return Spec(show(elems), (show(elems), show(shuffled), show(shuffled[::-1])), wrong)


def matrix(rng: random.Random) -> Spec:
    a, b, c, d = (rng.randint(-9, 9) for _ in range(4))
    if b == c:
        c = b + 1

    def show(env: str, x: tuple[int, int, int, int], sep: str = " ") -> str:
        return rf"\begin{{{env}}}{sep}{x[0]} & {x[1]} \\ {x[2]} & {x[3]}{sep}\end{{{env}}}"

    m = (a, b, c, d)
    right = (show("pmatrix", m), show("bmatrix", m), show("pmatrix", m, ""))
    wrong = (show("pmatrix", (a, c, b, d)), show("pmatrix", (a, b, c, d + 1)))
    return Spec(right[0], right, wrong)


def equation(rng: random.Random) -> Spec:
    a = rng.randint(2, 9)
    b = rng.choice([k for k in range(1, 10) if k != a])
    right = (f"y = {a}x + {b}", f"y={a}x+{b}", f"y = {b} + {a}x", f"{a}x + {b} = y")
    return Spec(right[0], right, (f"y = {a}x - {b}", f"y = {b}x + {a}", f"y = {a}x + {b + 1}"))


SQUAREFREE = (2, 3, 5, 6, 7, 10, 11)


def sqrt_multiple(a: int, b: int) -> Spec:
    r"""``a\sqrt{b}`` (b square-free, a >= 2) against ``\sqrt{a^2 b}``."""
    canon, root = rf"{a}\sqrt{{{b}}}", rf"\sqrt{{{a * a * b}}}"
    right = [canon, root, rf"{a} \sqrt{{{b}}}"] + ([rf"{a}\sqrt{b}"] if b < 10 else [])
    wrong = [rf"\sqrt{{{a * b}}}", rf"{a + 1}\sqrt{{{b}}}"] + ([rf"{b}\sqrt{{{a}}}"] if a != b else [])
    return Spec(canon, tuple(right), tuple(wrong))


def sqrt_over(b: int, c: int) -> Spec:
    r"""``\frac{\sqrt{b}}{c}`` (b square-free, c >= 2)."""
    canon = rf"\frac{{\sqrt{{{b}}}}}{{{c}}}"
    right = (canon, rf"\sqrt{{{b}}}/{c}", rf"\frac{{1}}{{{c}}}\sqrt{{{b}}}", rf"\dfrac{{\sqrt{{{b}}}}}{{{c}}}")
    wrong = (rf"\frac{{\sqrt{{{b}}}}}{{{c + 1}}}", rf"\frac{{{c}}}{{\sqrt{{{b}}}}}", rf"\sqrt{{{b}}}")
    return Spec(canon, right, wrong)


def difference_of_squares(k: int) -> Spec:
    canon, factored = f"x^2-{k * k}", f"(x-{k})(x+{k})"
    right = (canon, factored, f"(x+{k})(x-{k})", f"-{k * k}+x^2")
    wrong = (f"(x-{k})^2", f"x^2+{k * k}", f"(x-{k})(x+{k + 1})")
    return Spec(canon, right, wrong)


def pi_multiple(a: int) -> Spec:
    canon = rf"{a}\pi"
    return Spec(canon, (canon, rf"{a} \pi", rf"\pi \cdot {a}"), (rf"{a + 1}\pi", rf"\frac{{{a}}}{{2}}\pi", str(a)))


def binomial(n: int, k: int) -> Spec:
    value = math.comb(n, k)
    wrong = [str(value + 1)] + [rf"\binom{{{n}}}{{{j}}}" for j in (k - 1, k + 1) if math.comb(n, j) != value]
    return Spec(str(value), (str(value), rf"\binom{{{n}}}{{{k}}}", rf"{{{n} \choose {k}}}"), tuple(wrong))


def symbolic(rng: random.Random) -> Spec:
    pick = rng.randrange(5)
    if pick == 0:
        a, b = rng.randint(2, 6), rng.choice(SQUAREFREE)
        spec = sqrt_multiple(a, b)
        if rng.random() < 0.4:  # the reference is \sqrt{8}, the answer 2\sqrt{2}
            spec = Spec(spec.right[1], spec.right, spec.wrong)
        return spec
    if pick == 1:
        return sqrt_over(rng.choice(SQUAREFREE[:5]), rng.randint(2, 6))
    if pick == 2:
        spec = difference_of_squares(rng.randint(1, 9))
        return Spec(rng.choice([spec.reference, spec.right[1]]), spec.right, spec.wrong)
    if pick == 3:
        return pi_multiple(rng.randint(2, 12))
    n = rng.randint(5, 12)
    return binomial(n, rng.randint(1, n // 2 - 1) if n // 2 > 1 else 1)


def bignum(rng: random.Random) -> Spec:
    digits = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(4_999))
    last = rng.choice([d for d in "0123456789" if d != digits[-1]])
    return Spec(digits, (digits,), (digits[:-1] + last,))


KINDS: dict[str, tuple[Callable[[random.Random], Spec], int]] = {
    "integer": (integer, 18),
    "negative": (negative, 6),
    "decimal": (decimal, 7),
    "fraction": (fraction, 12),
    "thousands": (thousands, 6),
    "percent": (percent, 4),
    "degrees": (degrees, 3),
    "units": (units, 4),
    "x_equals": (x_equals, 4),
    "scientific": (scientific, 3),
    "choice": (choice, 5),
    "tuple": (pair, 3),
    "interval": (interval, 4),
    "set": (finite_set, 3),
    "matrix": (matrix, 2),
    "equation": (equation, 3),
    "symbolic": (symbolic, 9),
    "bignum": (bignum, 1),
}
HASH_KINDS = ("integer", "negative", "decimal", "thousands")


# --- completions ----------------------------------------------------------------------------

_OPENERS = ("Let's solve this step by step.", "We start from what the problem gives us.",
            "Let me work through this carefully.", "")
_STEPS = (
    "First, {a} + {b} = {s}.",
    "Multiplying, ${a} \\times {b} = {p}$.",
    "Then {a} - {b} = {d}.",
    "Checking the units, everything is measured the same way.",
    "Dividing back, ${p} / {b} = {a}$, which is consistent.",
    "So far the running total is {s}.",
    "Substituting $x = {a}$ gives ${a}^2 = {q}$.",
    "There are {a} cases to consider, and each contributes {b}.",
)
_SCRATCH_RIGHT = ("At first I got {v}, but that double-counts one case.",
                  "A quick estimate gives {v}, which is too rough.")
_SCRATCH_WRONG = ("My first attempt gave {v}, but I dropped a term.",
                  "One might guess {v}, but that ignores the constraint.")


def _reasoning(rng: random.Random, min_chars: int = 0) -> str:
    parts = [rng.choice(_OPENERS)]
    steps = rng.randint(2, 5)
    while steps > 0 or sum(map(len, parts)) < min_chars:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        parts.append(rng.choice(_STEPS).format(a=a, b=b, s=a + b, p=a * b, d=a - b, q=a * a))
        steps -= 1
    return " ".join(p for p in parts if p)


def _final(rng: random.Random, form: str, reasoning: str, answer: str) -> str:
    if form == "boxed":
        return reasoning + rng.choice([f" Therefore, the final result is $\\boxed{{{answer}}}$.",
                                       f"\n\\[\n\\boxed{{{answer}}}\n\\]", f" So $\\boxed{{{answer}}}$"])
    if form == "answer_is":
        return reasoning + rng.choice([f" The answer is ${answer}$.", f" Therefore, the answer is {answer}.",
                                       f"\nSo the answer is: {answer}"])
    if form == "hashes":
        return f"{reasoning}\n#### {answer}"
    if form == "answer_tag":
        inner = rng.choice([answer, f"${answer}$"])
        return f"<think>\n{reasoning}\n</think>\n<answer>{inner}</answer>"
    if form == "final_answer":
        return reasoning + rng.choice([
            f"\n\nFinal Answer: The final answer is ${answer}$. I hope it is correct.",
            f"\n\nFinal Answer: {answer}"])
    if form == "answer_colon":
        return f"{reasoning}\nAnswer: {answer}"
    raise ValueError(f"unknown form {form!r}")


def _plain_only(options: tuple[str, ...]) -> list[str]:
    return [o for o in options if _PLAIN_NUMBER.fullmatch(o)]


def _ordinary(rng: random.Random, form: str, right: bool, min_chars: int = 0) -> Item:
    names = HASH_KINDS if form == "hashes" else tuple(KINDS)
    kind = rng.choices(names, weights=[KINDS[k][1] for k in names])[0]
    spec = KINDS[kind][0](rng)
    pool = spec.right if right else spec.wrong
    if form == "hashes":
        pool = tuple(_plain_only(pool))
    answer = spec.reference if right and rng.random() < 0.4 and spec.reference in pool else rng.choice(pool)
    reasoning = _reasoning(rng, min_chars)
    scratch = rng.random()
    if not right and scratch < 0.25:  # the right value as a scratch number, then a wrong final
        reasoning += " " + rng.choice(_SCRATCH_RIGHT).format(v=f"${spec.right[0]}$")
    elif right and scratch < 0.15:
        reasoning += " " + rng.choice(_SCRATCH_WRONG).format(v=f"${spec.wrong[0]}$")
    return Item(_final(rng, form, reasoning, answer), spec.reference, right, form, False, kind)


# --- pathological items ---------------------------------------------------------------------

PATHOLOGICAL = ("long", "nested_braces", "continued_fraction", "tower", "factorial", "truncated")  # truncated last


def _continued(depth: int) -> tuple[str, Fraction]:
    text, value = "1", Fraction(1)
    for _ in range(depth):
        text, value = rf"1+\frac{{1}}{{{text}}}", 1 + 1 / value
    return text, value


def _tower(base: int, top: int, height: int) -> str:
    text = str(top)
    for _ in range(height - 1):
        text = f"{base}^{{{text}}}"
    return text


def _pathological(rng: random.Random, kind: str, right: bool) -> Item:
    if kind == "truncated" and right:
        kind = "long"
    if kind == "long":
        form = rng.choice(FORMS)
        item = _ordinary(rng, form, right, min_chars=LONG_CHARS)
        return Item(item.completion, item.reference, right, form, True, kind)
    reasoning = _reasoning(rng)
    if kind == "truncated":  # cut inside the box: no final answer was given
        n = rng.randint(10, 99_999)
        text = _reasoning(rng, LONG_CHARS) + f" Therefore, the final result is $\\boxed{{{str(n)[:-1]}"
        return Item(text, str(n), False, "boxed", True, kind)
    if kind == "nested_braces":
        n, depth = rng.randint(2, 999), rng.randint(200, 1_500)
        core = str(n) if right else str(n + 1)
        answer, ref = "{" * depth + core + "}" * depth, str(n)
    elif kind == "continued_fraction":
        depth = rng.randint(30, 60)
        answer, value = _continued(depth)
        if not right:
            value = _continued(depth - 1)[1]
            assert value != _continued(depth)[1]
        ref = rf"\frac{{{value.numerator}}}{{{value.denominator}}}"
    elif kind == "tower":
        base, height = rng.randint(2, 9), rng.randint(4, 5)
        ref = _tower(base, base, height)
        if right:
            answer = ref
        elif rng.random() < 0.5:
            answer = _tower(base, base + 1, height)  # towers grow with their top exponent
        else:
            ref, answer = str(base**base), ref  # the tower is astronomically larger
    else:  # factorial
        n = rng.choice([50_000, 100_000, 1_000_000])
        ref = f"{n}!"
        if right:
            answer = rng.choice([ref, rf"{n} \cdot {n - 1}!"])
        else:
            answer = rng.choice([f"{n - 1}!", f"{n + 1}!", rf"{n - 1} \cdot {n - 1}!"])
    completion = _final(rng, "boxed", reasoning, answer)
    return Item(completion, ref, right, "boxed", True, kind)


# --- the corpus -----------------------------------------------------------------------------


def _flags(rng: random.Random, n: int, share: float) -> list[bool]:
    k = round(share * n)
    flags = [True] * k + [False] * (n - k)
    rng.shuffle(flags)
    return flags


def make_corpus(n: int = 2000, seed: int = 0) -> list[Item]:
    """A labelled corpus of ``n`` completions; the same ``(n, seed)`` gives the same items.

    Args:
        n: how many items.
        seed: seeds the one ``random.Random`` everything is drawn from.

    Returns:
        The items, in a shuffled order (any half is representative of the whole).

    Example:
        >>> items = make_corpus(100, seed=0)
        >>> sum(not item.label for item in items)
        40
    """
    rng = random.Random(seed)
    wrong = _flags(rng, n, WRONG_SHARE)
    weird = _flags(rng, n, PATHOLOGICAL_SHARE)
    forms = [_FORM_DECK[i % len(_FORM_DECK)] for i in range(n)]
    rng.shuffle(forms)
    items: list[Item] = []
    dealt = {True: 0, False: 0}  # a right item cannot be truncated: deal kinds per label
    for i in range(n):
        if weird[i]:
            kinds = PATHOLOGICAL if wrong[i] else PATHOLOGICAL[:-1]
            items.append(_pathological(rng, kinds[dealt[wrong[i]] % len(kinds)], not wrong[i]))
            dealt[wrong[i]] += 1
        else:
            items.append(_ordinary(rng, forms[i], not wrong[i]))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=5, help="print this many items")
    args = ap.parse_args()
    items = make_corpus(args.n, args.seed)
    print(f"{len(items)} items, {sum(not i.label for i in items)} wrong, "
          f"{sum(i.pathological for i in items)} pathological")
    print("forms:", dict(Counter(i.form for i in items)))
    print("kinds:", dict(Counter(i.kind for i in items)))
    for item in items[: args.show]:
        print(f"\n[{item.form} {item.kind} label={item.label}] reference={item.reference[:80]!r}")
        print(item.completion[-300:])


if __name__ == "__main__":
    main()
