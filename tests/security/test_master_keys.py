"""The master keys of "One Token to Fool LLM-as-a-Judge" (arXiv 2507.08794) against every
task reward: a completion that says nothing ("", ":", ".", "Solution", "Thought
process:", "Let's solve this step by step."), one that echoes the prompt, and the same
keys inside the answer tags each reward reads. None may earn more than nothing.
"""

from __future__ import annotations

import pytest

import rewardsmith
from rewardsmith import Sample

PROMPT = "What is the capital of France? Think step by step, then answer in <answer></answer>."
KEYS = ["", " ", ":", ".", "Solution", "Thought process:", "Let's solve this step by step.",
        "解", "Answer:", "<answer></answer>", "<answer>:</answer>", "<answer>.</answer>",
        "<think></think><answer></answer>", r"\boxed{}", "```python\n```", "```sql\n```",
        "<tool_call></tool_call>", "<search></search>", PROMPT]

SCHEMA = "CREATE TABLE city(name TEXT, country TEXT);"
INLINE_DB = {"sql": "SELECT name FROM city WHERE country = 'France'", "schema": SCHEMA,
             "rows": {"city": [["Paris", "France"], ["Rome", "Italy"]]}}
# (reward, parameters, reference, meta)
TASKS = [
    ("math.answer", {}, "42", None),
    ("math.numeric_error", {}, "42", None),
    ("qa.exact_match", {}, "Paris", None),
    ("qa.f1", {}, "Paris", None),
    ("qa.cover_em", {}, "Paris", None),
    ("choice.answer", {}, {"answer": "B", "options": ["Lyon", "Paris", "Nice"]}, None),
    ("acre.consistency", {}, {"answer": "B", "options": ["Lyon", "Paris", "Nice"]},
     {"acre_second": "<answer>A</answer>", "acre_permutation": [1, 0, 2]}),
    ("json.schema", {}, {"schema": {"type": "object", "required": ["city"],
                                    "properties": {"city": {"type": "string"}}}}, None),
    ("craft.answer", {}, "Paris", None),
    ("code.unit_tests", {}, {"tests": ["assert add(1, 2) == 3"]}, None),
    ("code.syntax", {}, None, None),
    ("code.compiles", {}, None, None),
    ("sql.execution", {}, INLINE_DB, None),
    ("sql.syntax", {}, INLINE_DB, None),
    ("sql.schema_linking", {}, INLINE_DB, None),
    ("sql.ngram", {}, INLINE_DB, None),
    ("tool.call", {}, {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}, None),
    ("search.otc", {}, "Paris", None),
    ("search.exp_penalty", {}, "Paris", None),
    ("search.linear_penalty", {}, "Paris", None),
    ("search.parallel", {}, {"target": "Paris", "question_type": "na"}, None),
    ("search.reseek", {}, "Paris", None),
    ("search.masksearch_recall", {}, "Paris", None),
    ("format.think_answer", {}, None, None),
]


@pytest.mark.parametrize(
    "name,params,reference,meta", TASKS, ids=[t[0] for t in TASKS]
)
def test_master_keys_earn_nothing(name, params, reference, meta):
    reward = rewardsmith.load(name, **params)
    batch = [Sample(prompt=PROMPT, completion=k, reference=reference, group="g", meta=meta)
             for k in KEYS]
    paid = [(k, s.value, s.info.get("reason")) for k, s in zip(KEYS, reward.score(batch), strict=True)
            if s.value is not None and s.value > 0]
    assert paid == []
