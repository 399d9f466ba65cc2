"""The rules of ``math.answer`` (docs/math.md), one table per rule, each with right and
wrong answers, so that a rule that stops holding fails here by name."""

from __future__ import annotations

import pytest

import rewardsmith
from rewardsmith import Sample

RULES: dict[str, list[tuple[str, str, float]]] = {
    "the answer region and the last final statement": [
        (r"... \boxed{3} is wrong; the correct value is 4.", "3", 0.0),
        (r"... \boxed{3} is wrong; the correct value is 4.", "4", 1.0),
        (r"<think>\boxed{3}</think> The answer is 4.", "3", 0.0),
        (r"<think><answer>3</answer></think> So the answer is 4", "3", 0.0),
        (r"<think>so \boxed{12}</think>" "\nThe final answer is 15.", "15", 1.0),
        (r"<think>The answer is 7</think><answer>8</answer>", "7", 0.0),
        (r"We get \boxed{6}. Hmm, that is incorrect. Actually the answer is 8.", "6", 0.0),
        (r"We get \boxed{6}. Hmm, that is incorrect. Actually the answer is 8.", "8", 1.0),
        (r"\boxed{6} is not right; \boxed{8}", "6", 0.0),
        (r"Answer: 5. Therefore \boxed{5}.", "5", 1.0),
        (r"\[\boxed{5}\]" "\nSo the answer is $5$.", "5", 1.0),
        (r"\boxed{12}. The answer is correct since 12 = 3 \cdot 4.", "12", 1.0),
        (r"\boxed{42} — no, that's wrong.", "42", 0.0),
        (r"\boxed{42}. No wait, that's wrong.", "42", 0.0),
        (r"\boxed{42}. This is incorrect.", "42", 0.0),
        (r"So the answer is \boxed{42}. Hmm, no, that's not right; I should redo this.", "42", 0.0),
        ("Answer：42", "42", 1.0),  # a full-width colon
    ],
    "hedges and self-corrections": [
        (r"\boxed{41}. Wait, recheck: \boxed{42}", "42", 1.0),
        (r"\boxed{41}. Wait, recheck: \boxed{42}", "41", 0.0),
        (r"\boxed{3}. Wait, maybe I made an error. \boxed{4}", "4", 1.0),
        (r"\boxed{3} or maybe \boxed{4}", "4", 0.0),
        (r"The answer is $\boxed{5}$, though it could be 6.", "5", 0.0),
        (r"\boxed{3 \text{ or } 4}", "3", 0.0),
        (r"\boxed{3, 4}", "3", 0.0),
        (r"\boxed{1} \boxed{2} \boxed{3} \boxed{4} \boxed{5}", "5", 0.0),
        ("The answer is 3 or 4", "4", 0.0),
        (r"\boxed{\pm 2}", "2", 0.0),
    ],
    "nested boxes": [
        (r"\boxed{4 \; \boxed{3}}", "3", 0.0),
        (r"\boxed{2 \cdot \boxed{3}}", "3", 0.0),
        (r"\boxed{\boxed{\boxed{9}}}", "9", 1.0),
        (r"\boxed{10 - \boxed{1}}", "1", 0.0),
        (r"\boxed{10 - \boxed{1}}", "9", 1.0),
        (r"\boxed{x = \boxed{7}}", "7", 1.0),
    ],
    "thousands separators": [
        (r"\boxed{(0,100)}", "100", 0.0),
        (r"\boxed{(2,500)}", "2500", 0.0),
        (r"\boxed{(0, 100)}", "(0,100)", 1.0),
        (r"\boxed{[1,000, 2,000]}", "[1000, 2000]", 0.0),
        (r"\boxed{12,345,678}", "12345678", 1.0),
        (r"\boxed{1,23}", "123", 0.0),
        (r"\boxed{3,500}", "3500", 1.0),
        (r"\boxed{1 000 000}", "1000000", 1.0),
        (r"\boxed{11,\! 111,\! 100}", "11111100", 1.0),
        (r"\boxed{x = 1,024}", "1024", 1.0),
    ],
    "tolerance": [
        (r"\boxed{1000000006.5}", "1000000006", 0.0),
        (r"\boxed{12345678900.0}", "12345678901", 0.0),
        (r"\boxed{12345678901.0}", "12345678901", 1.0),
        (r"\boxed{2.504}", "2.50", 1.0),
        (r"\boxed{2.506}", "2.50", 0.0),
        (r"\boxed{99.99999999}", "100", 0.0),
        (r"\boxed{3.14}", r"\pi", 0.0),
        (r"\boxed{3.14159}", "3.14", 1.0),
        (r"\boxed{1/3}", "0.33", 1.0),
        (r"\boxed{0.3333}", r"\frac13", 0.0),
    ],
    "symbols the parser drops": [
        (r"\boxed{1011_3}", "1011_2", 0.0),
        (r"\boxed{120_8}", "120_6", 0.0),
        (r"\boxed{x_1 + x_2}", "x_2 + x_1", 1.0),
        (r"\boxed{a_1}", "a_2", 0.0),
        (r"\boxed{f'(x)}", "f(x)", 0.0),
        (r"\boxed{f''(x)}", "f'(x)", 0.0),
        (r"\boxed{\Pi}", r"\pi", 0.0),
        (r"\boxed{\Gamma}", r"\gamma", 0.0),
        (r"\boxed{Y}", "y", 0.0),
        (r"\boxed{x = 2x+1}", "y = 2x+1", 0.0),
        (r"\boxed{f(x) = 2x}", "f'(x) = 2x", 0.0),
        (r"\boxed{f'(x) = 2x}", "f(x) = 2x", 0.0),
        (r"\boxed{f'(x) = 2x}", "f'(x) = 2x", 1.0),
        (r"\boxed{1, 2, 3, \ldots}", r"1, 2, 3, \dots", 1.0),
        (r"\boxed{1, 2, 3, \cdots}", r"1, 2, 3, \ldots", 1.0),
        (r"\boxed{½}", r"\frac{1}{2}", 1.0),
        (r"\boxed{x²+1}", "x^2+1", 1.0),
        (r"\boxed{12:00}", "1:00", 0.0),
        (r"\boxed{0/0}", "0", 0.0),
    ],
    "units": [
        (r"\boxed{5 mm}", r"5 \text{ cm}", 0.0),
        (r"\boxed{5 \text{ cm}}", "5", 1.0),
        (r"\boxed{5 \mathrm{~cm}}", "5", 1.0),
        (r"\boxed{3 \text{ kg}}", r"3 \text{ g}", 0.0),
        (r"\boxed{\frac{1}{3} \text{meters}}", "1/3", 1.0),
        (r"\boxed{28 pct}", r"28\%", 1.0),
        (r"\boxed{5\text{ cm}^3}", "5", 1.0),
        (r"\boxed{12 \text{ m}^2}", "12", 1.0),
        (r"\boxed{5\,\mathrm{cm}^2}", "5", 1.0),
        (r"\boxed{5\text{ cm}^2}", r"5\text{ cm}^3", 0.0),
    ],
    "unevaluated and restated answers": [
        (r"\boxed{\dbinom{16}{5}}", "4368", 0.0),
        (r"\boxed{5!}", "120", 0.0),
        (r"\boxed{123456789\times987654321}", "121932631112635269", 0.0),
        (r"\boxed{\binom{10}{3}}", "120", 0.0),
        (r"\boxed{\sum_{i=1}^{100} i}", "5050", 0.0),
        (r"\boxed{\lim_{x\to 0} \frac{\sin x}{x}}", "1", 0.0),
        (r"\boxed{\log_2 1024}", "10", 0.0),
        (r"\boxed{3^4}", "81", 0.0),
        (r"\boxed{\text{lcm}(4,6)}", "12", 0.0),
        (r"\boxed{\frac{d}{dx} x^3}", "3x^2", 0.0),
        (r"\boxed{\int_0^1 x^2 dx}", r"\frac13", 0.0),
        (r"\boxed{\cos\frac{\pi}{3}}", r"\frac{1}{2}", 0.0),
        (r"\boxed{\cos \pi}", "-1", 0.0),
        (r"\boxed{\ln e}", "1", 0.0),
        (r"\boxed{\sin 30^\circ}", r"\frac12", 0.0),
        (r"\boxed{391}", "391", 1.0),
        (r"\boxed{2^{10}}", "2^{10}", 1.0),
        (r"\boxed{x^2 + 2x + 1}", "(x+1)^2", 1.0),
    ],
    "labels": [
        (r"\boxed{(x, y) = (3, 6)}", "(3, 6)", 1.0),
        (r"\boxed{\theta = 30^\circ}", "30", 1.0),
        (r"\boxed{f(2) = 5}", "5", 1.0),
        (r"\boxed{AB = 12}", "12", 1.0),
        (r"\boxed{a = 4, b = 7}", "(4, 7)", 1.0),
        (r"\boxed{P(A) = \frac{1}{3}}", r"\frac13", 1.0),
        (r"\boxed{\angle B = 45^\circ}", "45", 1.0),
        (r"\boxed{x = 3}", "y = 3", 0.0),
        (r"\boxed{(3,2)}", "(p,q)=(3,2)", 1.0),
        (r"\boxed{(2,3)}", "(p,q)=(3,2)", 0.0),
        (r"\boxed{45, 2}", "k = 45, n = 2", 1.0),
        (r"\boxed{2, 45}", "k = 45, n = 2", 0.0),  # the labels fix the order
        (r"\boxed{n = 2, k = 45}", "k = 45, n = 2", 1.0),
        (r"\boxed{3, 1}", "1, 3", 1.0),  # a bare list of solutions is a set
        (r"\boxed{11:21}", "V_{1}:V_{2}=11:21", 1.0),
        (r"\boxed{4, 5}", "AB=4,CD=5", 1.0),
        (r"\boxed{p = 3, q = 2}", "(p,q)=(3,2)", 1.0),
    ],
    "relations": [
        (r"\boxed{x \geq 2}", r"[2, \infty)", 1.0),
        (r"\boxed{[2, \infty)}", r"x \geq 2", 1.0),
        (r"\boxed{x > 3}", r"(3, \infty)", 1.0),
        (r"\boxed{(3, \infty)}", r"x > 3", 1.0),
        (r"\boxed{x > 3}", r"[3, \infty)", 0.0),
        (r"\boxed{x \le 5}", r"(-\infty, 5]", 1.0),
        (r"\boxed{x < 5}", r"(-\infty, 5]", 0.0),
        (r"\boxed{-1 \le x < 3}", "(-1, 3)", 0.0),
        (r"\boxed{\pm 3}", "3, -3", 1.0),
        (r"\boxed{3, -3}", r"\pm 3", 1.0),
        (r"\boxed{2 \pm \sqrt{3}}", r"2 + \sqrt{3}, 2 - \sqrt{3}", 1.0),
        (r"\boxed{x = 3 \text{ or } x = 4}", "3, 4", 1.0),
        (r"\boxed{x < 0 \text{ or } x > 1}", r"(-\infty,0)\cup(1,\infty)", 1.0),
        (r"\boxed{x \neq 2}", r"(-\infty,2)\cup(2,\infty)", 1.0),
        (r"\boxed{\{x \mid x > 3\}}", r"(3, \infty)", 1.0),
        (r"\boxed{(-\infty, \infty)}", r"\mathbb{R}", 1.0),
        (
            r"\boxed{z \in [-\frac{3}{2}, -1] \cup [1, \frac{3}{2}]}",
            r"1\leq|z|\leq \frac{3}{2}",
            1.0,
        ),
        (r"\boxed{[1, \frac{3}{2}]}", r"1\leq|z|\leq \frac{3}{2}", 0.0),
    ],
    "phrasing": [
        (r"**Final Answer**: 5", "5", 1.0),
        (r"The answer is therefore 3.", "3", 1.0),
        (r"The answer is 3, because we add.", "3", 1.0),
        (r"(So the answer is 42.)", "42", 1.0),
        (r"**Answer:** 17", "17", 1.0),
        (r"Thus, the final answer is: **17**.", "17", 1.0),
        (r"The answer is $-\frac12$, i.e. negative one half.", "-1/2", 1.0),
        (r"Final Answer: The final answer is $7$. I hope it is correct.", "7", 1.0),
        ("Answer \\[ \n 9 \n \\]", "9", 1.0),
        (r"Final Answer: The largest $n$ is 34.", "34", 1.0),
        (r"Final answer: 17", "18", 0.0),
        (r"$(3,2)$", "(3,2)", 1.0),
        (r"$$1$$", "1", 1.0),
    ],
    "forms": [
        (r"\boxed{\mathbf{3}}", "3", 1.0),
        (r"\boxed{\color{red}{3}}", "3", 1.0),
        (r"\boxed{{1 \over 2}}", "1/2", 1.0),
        (r"\boxed 3", "3", 1.0),
        (r"\boxed{1.5e6}", "1500000", 1.0),
        (r"\boxed{2.5 \times 10^{3}}", "2500", 1.0),
        (r"\boxed{0.\overline{3}}", r"\frac13", 1.0),
        (r"\boxed{0.1\overline{6}}", r"\frac16", 1.0),
        (r"\boxed{\emptyset}", r"\varnothing", 1.0),
        (
            r"\boxed{\begin{pmatrix}1 & 2\\3 & 4\end{pmatrix}}",
            r"\begin{bmatrix}1 & 2\\3 & 4\end{bmatrix}",
            1.0,
        ),
        (
            r"\boxed{\left[\begin{array}{cc}1 & 2\\3 & 4\end{array}\right]}",
            r"\begin{pmatrix}1 & 2\\3 & 4\end{pmatrix}",
            1.0,
        ),
        (
            r"\boxed{\begin{bmatrix} 1 & 0 \\ 0 & 2 \end{bmatrix}}",
            r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
            0.0,
        ),
        (r"\boxed{\sqrt{8}}", r"2\sqrt{2}", 1.0),
        (r"\boxed{1 + \frac{1}{1 + \frac{1}{2}}}", r"\frac53", 1.0),
        (r"\boxed{(1+i)^2}", "2i", 1.0),  # a complex reference: i is the imaginary unit
        (r"\boxed{-1}", "i^2", 1.0),
        (r"\boxed{1+2i}", "1-2i", 0.0),
        (r"\boxed{x^2}", "i^2", 0.0),
    ],
    "several parts": [
        (r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", "(2, 2), (6, 2)", 1.0),
        (r"\boxed{1},\boxed{2},\boxed{3}", "1, 2, 3", 1.0),
        (r"\boxed{5}, \boxed{2}", "2, 5", 1.0),
        (r"\boxed{2} and \boxed{6}", "2, 5", 0.0),
        (r"\boxed{x=1} or \boxed{x=-3}", "1, -3", 1.0),
        (r"\boxed{6, 8}", r"6 \text{ and } 8", 1.0),
        (r"\boxed{-12, -11, -10}", "-12;-11;-10", 1.0),
        (r"\boxed{-2,1}", r"\(\boxed{1}\) and \(\boxed{-2}\).", 1.0),
        (r"\boxed{(5,2),(7,2)}", "p=5,q=2;p=7,q=2", 1.0),
        (r"\boxed{(5,2),(7,3)}", "p=5,q=2;p=7,q=2", 0.0),
        (r"\boxed{(0, -2, 6), (4, 0, 0)}", "(4;0;0),(0;-2;6)", 1.0),
        ("so \\\\boxed{\\\\frac{\\\\pi}{2}}\\n", r"\frac{\pi}{2}", 1.0),  # escaped twice
    ],
    "hidden text and master keys": [
        (r"\boxed{3}\phantom{\boxed{4}}", "4", 0.0),
        ("\\boxed{3} % \\boxed{4}\n", "4", 0.0),
        (r"\boxed{3} <!-- \boxed{4} -->", "4", 0.0),
        ("", "0", 0.0),
        (" ", "0", 0.0),
        (r"\boxed{}", "0", 0.0),
        ("<answer></answer>", "0", 0.0),
        ("I cannot solve this.", "0", 0.0),
        (":", "0", 0.0),
        ("Let's solve this step by step.", "0", 0.0),
        (r"\boxed{\text{any}}", "5", 0.0),
        (r"\boxed{\mathbb{R}}", "5", 0.0),
        (r"\boxed{\infty}", "0", 0.0),
    ],
}
CASES = [(rule, *case) for rule, cases in RULES.items() for case in cases]


@pytest.fixture(scope="module")
def reward():
    return rewardsmith.load("math.answer")


@pytest.mark.parametrize(
    "rule,completion,reference,value",
    CASES,
    ids=[f"{c[0]}: {c[1][:50]!r} vs {c[2]!r}" for c in CASES],
)
def test_rule(reward, rule, completion, reference, value):
    (s,) = reward.score([Sample(completion=completion, reference=reference)])
    assert s.value == value, s.info


def test_refusals_name_their_reason(reward):
    reasons = {
        r"\boxed{\dbinom{16}{5}}": ("4368", "not evaluated: binomial"),
        r"\boxed{3} or maybe \boxed{4}": ("4", "several final answers"),
        r"\boxed{7}, though it might be 8": ("7", "hedged: another answer offered"),
        r"\boxed{5 mm}": (r"5 \text{ cm}", "unit 'mm' is not 'cm'"),
    }
    for completion, (reference, reason) in reasons.items():
        (s,) = reward.score([Sample(completion=completion, reference=reference)])
        assert (s.value, s.info["reason"]) == (0.0, reason)


def test_an_expression_copied_from_the_prompt_is_refused(reward):
    prompt = r"Simplify $\sqrt{245}$ and give the result in simplest radical form."
    (copied,) = reward.score(
        [Sample(prompt=prompt, completion=r"\boxed{\sqrt{245}}", reference=r"7\sqrt{5}")]
    )
    assert (copied.value, copied.info["reason"]) == (0.0, "restates an expression from the prompt")
    (solved,) = reward.score(
        [Sample(prompt=prompt, completion=r"\boxed{7\sqrt{5}}", reference=r"7\sqrt{5}")]
    )
    assert solved.value == 1.0
    # the same value, not copied: paid unless simplest form is required
    (other,) = reward.score(
        [Sample(prompt="Compute it.", completion=r"\boxed{\sqrt{245}}", reference=r"7\sqrt{5}")]
    )
    assert other.value == 1.0
    strict = rewardsmith.load("math.answer", require_simplest_form=True)
    (unsimplified,) = strict.score(
        [Sample(prompt="Compute it.", completion=r"\boxed{\sqrt{245}}", reference=r"7\sqrt{5}")]
    )
    assert unsimplified.value == 0.0 and "square factor" in unsimplified.info["reason"]
    (half,) = strict.score([Sample(completion=r"\boxed{\frac{4}{8}}", reference=r"\frac12")])
    assert half.value == 0.0
