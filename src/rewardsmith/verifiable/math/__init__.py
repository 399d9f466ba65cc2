"""``math.*``: math answers checked against a reference.

Modules: ``answer`` (``math.answer``, the tiers and the worker pool), ``numeric``
(``math.numeric_error``, partial credit by closeness), ``ops`` (computed or restated?),
``arith`` (exact arithmetic on numbers), ``struct`` (tuples, intervals, sets, matrices,
relations), ``symbolic`` (sympy, in a worker process) and ``limits`` (size gates before
sympy). Where the final answer is and how its text is normalised are shared with other
families: ``rewardsmith.verifiable.answers`` and ``rewardsmith.verifiable.answer_text``.
"""

from rewardsmith.verifiable.math.answer import (
    FinalAnswerParams,
    MathAnswer,
    MathAnswerParams,
    reference_answer,
    several_answers,
)
from rewardsmith.verifiable.math.numeric import NumericError, NumericErrorParams, parse_numeric

__all__ = [
    "FinalAnswerParams",
    "MathAnswer",
    "MathAnswerParams",
    "NumericError",
    "NumericErrorParams",
    "parse_numeric",
    "reference_answer",
    "several_answers",
]
