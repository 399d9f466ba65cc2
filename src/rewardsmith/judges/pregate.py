"""A rule-based pre-gate for judge rewards: completions that say nothing never reach the judge.

What it checks: ``degenerate(completion, prompt)`` names why a completion carries no
answer at all, or returns None. The reasons, tried in this order:

- ``"empty"``: nothing but whitespace (any Unicode space) and invisible characters
  (U+200B–U+200D, U+2060, U+FEFF, soft hyphen, direction marks).
- ``"punctuation only"``: no letter or digit anywhere (":", "...", "。", "¿?", "**",
  "---"). Symbols and control characters count as punctuation, except a few that are a
  whole math answer on their own: ∞ ∅ < > = ≤ ≥ ≠ ≈ ± ∓.
- ``"bare markup"``: no letter or digit left once wrappers go: the reasoning-format tags
  in ``_WRAPPER_TAGS`` (``<answer></answer>``, ``<think></think>``), special tokens
  (``<|im_end|>``), LaTeX wrappers (``\\boxed{}``, ``\\text{}``) and code fences with
  their language tag.
- ``"a bare reasoning opener: '…'"``: folded (NFKC, accents and case dropped, markup and
  punctuation gone), the text is one of ``OPENERS`` ("thought process", "solution",
  "解", "かいせつ", "respuesta", ...); ``"only reasoning openers: '…', '…'"`` when it is
  several of them with ``FILLERS`` between ("Okay, so. Solution: let's think step by
  step."). A filler alone ("Okay.") is an answer.
- ``"restates the question"``: with a prompt given, the folded completion is at least 20
  characters, lies inside the folded prompt, and is at least half the prompt's length
  (so a long option or span copied out of a long prompt is still an answer).

A judge reward scores such a completion by rule and records the reason, without asking
the model; anything else (None) goes to the judge.

Paper: One Token to Fool LLM-as-a-Judge (Zhao et al., arXiv 2507.08794). "Master key"
responses (" ", ".", ",", ":", "Thought process:", "Let's solve this problem step by
step.", "Solution", "解", "かいせつ", "Respuesta"), sent as the entire response, are judged
correct at high rates by LLM judges of every size, proprietary ones included, and
inference-time tricks do not fix it. The paper's fix is a judge trained on truncated
responses labelled NO (Master-RM; ``rewardsmith.data.augmentation_negatives`` builds that
data, ``rewardsmith.data.probe_set`` the probes). This gate is the cheap half: the keys
it knows never cost a judge call and can never be scored YES.

Bounds: the whole text is scanned once for a letter or digit (a C-speed regex, tens of
milliseconds for 1 MB of punctuation); the markup and opener rules look only at
completions of at most ``_SCAN`` characters, and an opener at most ``_MAX_OPENER``
folded characters; the restate rule looks only at completions at most twice the
prompt's length (plus ``_SCAN``), and folds each distinct prompt once.

Known issues, and how it is gamed:

- It catches only what says nothing. A long generic paragraph with no answer ("Let's
  carefully analyse what the problem asks. First we need to understand...") passes, as
  does filler the lists lack ("Interesting question!"): the judge must handle those, and
  the master-key audit probes them. Extend ``OPENERS`` and ``FILLERS`` as they show up.
- Past the bounds nothing but "empty" and "punctuation only" applies: ``"Solution " *
  1000`` or a 3,000-character run of ``<think></think>`` passes to the judge.
- A real answer that is itself an opener word is flagged ("Solution" for "what is a
  homogeneous mixture called?", "答案" for "Chinese for 'answer'"), as is a symbol-only
  answer outside the exempt set ("→", "✓").
- The restate rule cannot tell a restatement from a copy task ("Repeat after me: ...")
  or an extractive span that is most of a short prompt: leave ``prompt`` empty for
  such tasks. A restatement of only the last sentence of a long prompt is under half of
  it and passes, so that a long option copied from a multiple-choice prompt is not
  flagged.
- Only the listed tags are wrappers: ``<b></b>`` or ``<foo/>`` is content.

Example:
    >>> degenerate("Thought process:")
    "a bare reasoning opener: 'thought process'"
    >>> degenerate("<answer>:</answer>"), degenerate("No."), degenerate("解：x=2")
    ('bare markup', None, None)
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["FILLERS", "OPENERS", "degenerate"]

OPENERS: frozenset[str] = frozenset(
    # English (the paper's "thought process", "solution", "let's solve this problem step by step")
    {
        "thought process", "thinking process", "my thought process", "reasoning",
        "reasoning process", "let's solve this problem step by step",
        "let's solve this step by step", "let's solve this problem", "let's solve this",
        "let's solve it step by step", "let me solve this step by step",
        "let me solve this problem step by step", "let's think step by step",
        "let's think about this step by step", "let's think", "let me think",
        "let me think step by step", "let me think about this", "let's see", "let me see",
        "let's break it down", "let's break this down", "let's begin", "let's start",
        "let's get started", "step by step", "step 1", "first step", "to solve this",
        "to solve this problem", "solution", "the solution", "the solution is",
        "solution process", "answer", "the answer", "the answer is", "answer is",
        "final answer", "the final answer", "the final answer is", "my answer",
        "my answer is", "here is the solution", "here's the solution", "here is my answer",
        "here's my answer", "explanation", "analysis", "therefore", "thus",
        "hence", "in conclusion", "hmm", "um", "uh",
        # Chinese (the paper's "解")
        "解", "解答", "解析", "解题", "解题过程", "解題過程", "答", "答案", "答案是", "答案为",
        "答案為", "最终答案", "最終答案", "最终答案是", "思考过程", "思考過程", "思路", "分析",
        "让我们一步一步解决这个问题", "讓我們一步一步解決這個問題", "让我们一步一步思考",
        "让我们一步步思考", "让我们一步一步来", "让我想想", "我们一步一步来", "第一步", "嗯",
        # Japanese (the paper's "かいせつ")
        "かいせつ", "解説", "かいとう", "答え", "こたえ", "答えは", "考え方", "解き方",
        "ステップ1", "一歩ずつ考えましょう", "順を追って考えましょう",
        "ステップバイステップで考えましょう", "段階的に考えてみましょう", "えっと",
        # Spanish (the paper's "respuesta")
        "respuesta", "la respuesta", "la respuesta es", "respuesta final", "solución",
        "la solución", "la solución es", "resolvamos este problema paso a paso",
        "pensemos paso a paso", "paso a paso", "paso 1", "proceso de pensamiento",
        "razonamiento", "explicación", "déjame pensar",
        # French
        "réponse", "la réponse", "la réponse est", "réponse finale", "la solution",
        "la solution est", "résolvons ce problème étape par étape",
        "réfléchissons étape par étape", "étape par étape", "étape 1",
        "processus de réflexion", "raisonnement", "explication", "laissez-moi réfléchir",
        # German
        "lösung", "die lösung", "die lösung ist", "antwort", "die antwort",
        "die antwort ist", "endgültige antwort", "lösen wir dieses problem schritt für schritt",
        "lass uns schritt für schritt denken", "denken wir schritt für schritt",
        "schritt für schritt", "schritt 1", "denkprozess", "gedankengang", "erklärung",
        "begründung",
        # Russian
        "решение", "ответ", "итоговый ответ", "окончательный ответ", "ответ такой",
        "давайте решим эту задачу шаг за шагом", "давайте подумаем шаг за шагом",
        "шаг за шагом", "шаг 1", "ход мыслей", "рассуждение", "объяснение", "пояснение",
        # Portuguese
        "resposta", "a resposta", "a resposta é", "resposta final", "solução", "a solução",
        "a solução é", "vamos resolver este problema passo a passo",
        "vamos pensar passo a passo", "passo a passo", "passo 1", "processo de pensamento",
        "raciocínio", "explicação",
        # Korean
        "풀이", "풀이 과정", "답", "답은", "정답", "정답은", "해설", "해답", "사고 과정",
        "단계별로 풀어 봅시다", "단계별로 생각해 봅시다", "차근차근 풀어 봅시다", "1단계",
        # Italian
        "risposta", "la risposta", "la risposta è", "soluzione", "la soluzione",
        "risolviamo questo problema passo dopo passo", "passo dopo passo",
    }
)  # fmt: skip
"""Phrases that announce an answer without giving one, lower case, one language a block.

Matching folds both sides the same way (NFKC, accents and case dropped, punctuation as
word breaks), so "Solución:", "SOLUCION" and "solución" all match "solución". A real
answer that is only these words is flagged, so leave out anything that can be an answer
on its own ("yes", "no", "first", "true", "none").
"""

FILLERS: frozenset[str] = frozenset(
    {
        "ok", "okay", "alright", "all right", "so", "well", "now", "first", "firstly",
        "then", "sure", "right", "great", "good", "first of all",
        "好的", "好", "那么", "首先", "我们", "まず", "では", "じゃあ", "さて",
        "bueno", "pues", "primero", "bien", "vale", "alors", "bon", "d'abord", "tout d'abord",
        "also", "nun", "zuerst", "gut", "итак", "сначала", "хорошо", "так", "então",
        "primeiro", "bem", "certo", "먼저", "자", "좋아요", "allora", "prima",
    }
)  # fmt: skip
"""Words that are an answer alone ("Okay.", "Bien.") but nothing next to an opener:
"Okay, so. Let's think step by step." is only openers; "Okay." is not flagged."""

_SCAN = 2_000  # stripped characters the markup and opener rules look at
_MAX_OPENER = 400  # folded characters: anything longer is never a bare opener
_MIN_RESTATE = 20  # folded characters: shorter text inside the prompt is an answer
_RESTATE_SHARE = 0.5  # a restatement covers at least this share of the folded prompt

_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_INVISIBLE = "\u00ad\u034f\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_BLANK = _WHITESPACE + _INVISIBLE  # every str.isspace() character, and the invisible ones

_ANSWER_SYMBOLS = "∞∅<>=≤≥≠≈±∓"  # whole answers on their own: a limit, a set, a comparison
_CONTENT = re.compile(rf"[^\W_]|[{_ANSWER_SYMBOLS}]")  # a letter (L*), a number (N*), or one
_BREAKS = re.compile(rf"(?:[^\w{_ANSWER_SYMBOLS}]|_)+")
_ACCENTS = re.compile(r"[\u0300-\u036f]")  # combining diacritics only: kana voicing stays

_WRAPPER_TAGS = (
    "think", "thinking", "thought", "reasoning", "reason", "answer", "final_answer",
    "solution", "response", "output", "result", "scratchpad", "analysis", "reflection",
    "s", "eos", "bos", "pad", "endoftext",
)  # fmt: skip
_WRAPPERS = re.compile(
    rf"</?(?:{'|'.join(_WRAPPER_TAGS)})\s*/?>"
    r"|<\|[\w -]{0,40}\|>"  # special tokens: <|im_end|>, <|endoftext|>
    r"|\\(?:boxed|fbox|framebox|text(?:bf|it|rm|tt|sf)?|math(?:rm|bf|it|sf|tt)"
    r"|emph|mbox|displaystyle|underline)(?![A-Za-z])"
    r"|```[\w+#.-]*|~~~[\w+#.-]*",  # a code fence and its language tag
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    """Compatibility forms, no accents, case folded, every run of punctuation one space."""
    text = _ACCENTS.sub("", unicodedata.normalize("NFKD", text))
    text = unicodedata.normalize("NFC", text).casefold()
    return _BREAKS.sub(" ", text).strip()


def _phrases(words: frozenset[str]) -> dict[tuple[str, ...], str]:
    return {tuple(_fold(w).split()): w for w in sorted(words)}  # sorted: same reason every run


_OPENER_WORDS = _phrases(OPENERS)
_FILLER_WORDS = _phrases(FILLERS)
_LONGEST = max(len(p) for p in (*_OPENER_WORDS, *_FILLER_WORDS))


def _openers_only(words: list[str]) -> list[str] | None:
    """The openers that, with fillers, make up all of ``words``; None if anything else does.

    A segmentation over phrases of up to ``_LONGEST`` words; among the ways through it
    prefers one with an opener, then the fewest phrases.
    """
    best: list[list[str] | None] = [None] * (len(words) + 1)
    best[0] = []
    for i in range(len(words)):
        here = best[i]
        if here is None:
            continue
        for j in range(i + 1, min(len(words), i + _LONGEST) + 1):
            phrase = tuple(words[i:j])
            if phrase in _OPENER_WORDS:
                path = [*here, _OPENER_WORDS[phrase]]
            elif phrase in _FILLER_WORDS:
                path = here
            else:
                continue
            old = best[j]
            if old is None or (path and not old) or (bool(old) and 0 < len(path) < len(old)):
                best[j] = path
    return best[-1] or None


@lru_cache(maxsize=64)  # a GRPO group shares its prompt: fold it once
def _folded_prompt(prompt: str) -> str:
    return _fold(_WRAPPERS.sub(" ", prompt))


def _restates(text: str, prompt: str) -> bool:
    if not prompt.strip(_BLANK) or len(text) > 2 * len(prompt) + _SCAN:
        return False
    said, asked = _fold(_WRAPPERS.sub(" ", text)), _folded_prompt(prompt)
    return len(said) >= _MIN_RESTATE and len(said) >= _RESTATE_SHARE * len(asked) and said in asked


def degenerate(completion: str, prompt: str = "") -> str | None:
    """Why ``completion`` says nothing and must be scored without the judge, or None.

    Args:
        completion: the response text.
        prompt: the question, for the restate rule; empty (the default) turns it off,
            as it should be for copy and extraction tasks.

    Returns:
        A short reason ("empty", "punctuation only", "bare markup", "a bare reasoning
        opener: 'solution'", "only reasoning openers: 'solution', 'let's think step by
        step'", "restates the question"), or None when the judge must decide.

    Example:
        >>> degenerate("  \\u200b "), degenerate("..."), degenerate("\\\\boxed{}")
        ('empty', 'punctuation only', 'bare markup')
        >>> degenerate("Solución:"), degenerate("The answer is 42.")
        ("a bare reasoning opener: 'solución'", None)
        >>> degenerate("what is two plus two", prompt="What is two plus two?")
        'restates the question'
    """
    text = completion.strip(_BLANK)
    if not text:
        return "empty"
    if _CONTENT.search(text) is None:
        return "punctuation only"
    if len(text) <= _SCAN:
        unwrapped = _WRAPPERS.sub(" ", text)
        if _CONTENT.search(unwrapped) is None:
            return "bare markup"
        folded = _fold(unwrapped)
        if len(folded) <= _MAX_OPENER:
            found = _openers_only(folded.split())
            if found is not None:
                if len(found) == 1:
                    return f"a bare reasoning opener: '{found[0]}'"
                return "only reasoning openers: " + ", ".join(f"'{w}'" for w in found)
    if prompt and _restates(text, prompt):
        return "restates the question"
    return None
