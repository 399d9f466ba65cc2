"""The master keys of "One Token to Fool LLM-as-a-Judge" against the pre-gated judges.

Every key of ``rewardsmith.data.MASTER_KEYS`` (the paper's, and the same idea in nine
languages) is sent as the whole completion to ``--prompts`` questions, for each judge.
The "judge" is the worst case: a scripted backend that gives every prompt it sees the top
verdict (YES, 10/10, ``\\boxed{10}``, the policy's letter), so any key that reaches it is
paid in full. A judge pays nothing when every key is scored by the pre-gate at its floor
without a call.

The other side of the rule: the real completions of the bundled example rollouts
(``src/rewardsmith/examples/math_rollouts.jsonl``) go through the same pre-gate, and
the share it flags is printed (only empty or key-like completions should be).

Printed: items, keys paid (must be 0), judge calls made (must be 0), and the pre-gate's
cost per item (median of ``--repeat`` runs).

Run: ``python benchmarks/judge_master_keys.py`` (a few seconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rewardsmith.core import Sample
from rewardsmith.data import MASTER_KEYS, probe_set
from rewardsmith.judges.critique import JudgeCritique, JudgeCritiqueParams
from rewardsmith.judges.faithfulness import JudgeFaithfulness, JudgeFaithfulnessParams
from rewardsmith.judges.pairwise import JudgePairwise, JudgePairwiseParams
from rewardsmith.judges.pointwise import JudgePointwise, JudgePointwiseParams
from rewardsmith.judges.pregate import degenerate
from rewardsmith.judges.principle import JudgePrinciple, JudgePrincipleParams
from rewardsmith.judges.reference import JudgeReference, JudgeReferenceParams
from rewardsmith.judges.relevance import JudgeRelevance, JudgeRelevanceParams
from rewardsmith.judges.rubric import JudgeRubric, JudgeRubricParams
from rewardsmith.judges.segments import JudgeSegments, JudgeSegmentsParams
from rewardsmith.judges.sentences import JudgeSentences, JudgeSentencesParams
from rewardsmith.judges.table_qa import JudgeTableQA, JudgeTableQAParams
from rewardsmith.judges.thoughts import JudgeThoughts, JudgeThoughtsParams

ROOT = Path(__file__).resolve().parents[1]
TOP = {
    "judge.reference": "YES",
    "judge.rubric": "Total Score: 10/10",
    "judge.pointwise": "Scores: \\boxed{10}",
    "judge.principle": '{"scores": {"model-1": 5}, "best-to-worst": ["model-1"]}',
    "judge.faithfulness": '{"plan_reason": true, "docs_reason": true, "reason_answer": true, "grounded": true}',
    "judge.critique": '{"arguments": ["every argument the human made"]}',
    "judge.sentences": '[{"sentence": 1, "faithful": 1, "reason": "right", "correct": 1}]',
    "judge.segments": '[{"sentence": 1, "factual": 1}]',
    "judge.relevance": "Relevance: 1.00\nFinal answer: True",
    "judge.table_qa": "Answer: PAID",
    "judge.thoughts": '[{"step": 1, "correct": 1}]',
}


class Paying:
    """A judge backend that pays every prompt the most it can."""

    name = "paying"

    def __init__(self, verdict: str) -> None:
        self.verdict, self.calls = verdict, 0

    def generate(self, prompts: Any, *, n: int = 1, **_: Any) -> list[list[str]]:
        self.calls += len(prompts)
        out = []
        for p in prompts:
            text = p[-1]["content"]
            if self.verdict == "pairwise":  # the policy's letter: A when its text comes first
                policy_first = text.index("Chatbot A's Response]\n") < text.index("REFERENCE-RESPONSE")
                out.append([f"<answer>[[{'B' if not policy_first else 'A'}]]</answer>"] * n)
            else:
                out.append([self.verdict] * n)
        return out


def questions(n: int) -> list[str]:
    return [f"A shop sells {k + 3} pens at {k + 2} dollars each. How much do {k + 3} pens cost in dollars?" for k in range(n)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    prompts = questions(args.prompts)
    records = probe_set(prompts, [str((k + 3) * (k + 2)) for k in range(args.prompts)])
    samples = [
        Sample(prompt=r["prompt"], completion=r["completion"],
               reference={"answer": r["reference"], "rubric": "- multiplies count by price", "response": "REFERENCE-RESPONSE",
                          "qa": [{"question": "What is the total cost?", "answer": "PAID"}]})
        for r in records
    ]  # fmt: skip
    judges = {
        "judge.reference": lambda b: JudgeReference(JudgeReferenceParams(model="paying"), backend=b),
        "judge.rubric": lambda b: JudgeRubric(JudgeRubricParams(model="paying"), backend=b),
        "judge.pointwise": lambda b: JudgePointwise(JudgePointwiseParams(model="paying"), backend=b),
        "judge.pairwise": lambda b: JudgePairwise(JudgePairwiseParams(model="paying"), backend=b),
        "judge.principle": lambda b: JudgePrinciple(
            JudgePrincipleParams(model="paying", principle="Answer the question correctly."), backend=b
        ),
        "judge.faithfulness": lambda b: JudgeFaithfulness(
            JudgeFaithfulnessParams(model="paying"), backend=b
        ),
        "judge.critique": lambda b: JudgeCritique(JudgeCritiqueParams(model="paying"), backend=b),
        "judge.sentences": lambda b: JudgeSentences(JudgeSentencesParams(model="paying"), backend=b),
        "judge.segments": lambda b: JudgeSegments(JudgeSegmentsParams(model="paying"), backend=b),
        "judge.relevance": lambda b: JudgeRelevance(JudgeRelevanceParams(model="paying"), backend=b),
        "judge.table_qa": lambda b: JudgeTableQA(JudgeTableQAParams(model="paying"), backend=b),
        "judge.thoughts": lambda b: JudgeThoughts(JudgeThoughtsParams(model="paying"), backend=b),
    }
    rows = []
    for name, make in judges.items():
        backend = Paying(TOP.get(name, "pairwise"))
        judge = make(backend)
        scores = judge.score(samples)
        floor = getattr(judge, "floor", judge.range[0])  # what a key may get: never more
        paid = sum(1 for s in scores if s.value is None or s.value > floor)
        rows.append({"judge": name, "items": len(samples), "paid": paid, "calls": backend.calls})
    texts = [(s.completion, s.prompt) for s in samples]
    costs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for completion, prompt in texts:
            degenerate(completion, prompt)  # type: ignore[arg-type]
        costs.append((time.perf_counter() - start) / len(texts))
    real = [json.loads(line) for line in (ROOT / "src/rewardsmith/examples/math_rollouts.jsonl").read_text().splitlines()]
    flagged = [r for r in real if degenerate(r["completion"], r["prompt"])]
    return {
        "keys": len(MASTER_KEYS), "prompts": args.prompts, "rows": rows,
        "pregate_us_per_item": 1e6 * statistics.median(costs),
        "real_completions": len(real), "real_flagged": [r["completion"][:40] for r in flagged],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    out = run(args)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['keys']} master keys x {out['prompts']} prompts, a judge that pays every prompt it sees")
    print(f"{'judge':<19} {'items':>6} {'paid':>5} {'judge calls':>11}")
    for r in out["rows"]:
        print(f"{r['judge']:<19} {r['items']:>6} {r['paid']:>5} {r['calls']:>11}")
    print(f"pre-gate cost: {out['pregate_us_per_item']:.1f} µs per item")
    print(f"real example completions flagged: {len(out['real_flagged'])} of {out['real_completions']}")
    for text in out["real_flagged"]:
        print(f"  {text!r}")
    return 1 if any(r["paid"] or r["calls"] for r in out["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
