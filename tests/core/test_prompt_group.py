"""A rollout without a group is grouped by its prompt, the same way on every path."""

from __future__ import annotations

import orjson
import pytest

import rewardsmith.integrations.trl as trl
import rewardsmith.integrations.verl as verl
from rewardsmith import ItemReward, Sample
from rewardsmith.core.types import prompt_group
from rewardsmith.rollouts import FieldMap
from rewardsmith.serve.schemas import parse_score_request

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]


class _Groups(ItemReward):
    name = "test.groups"

    def __init__(self) -> None:
        self.seen: list[object] = []

    def score_one(self, sample: Sample) -> float:
        self.seen.append(sample.group)
        return 1.0


def _trl_group(prompt: object) -> object:
    reward = _Groups()
    trl.reward_funcs(reward)[0](prompts=[prompt], completions=["4"])  # type: ignore[list-item]
    return reward.seen[0]


@pytest.mark.parametrize("prompt", ["2+2?", CHAT], ids=["text", "chat"])
def test_files_server_trl_and_verl_group_a_prompt_alike(prompt: object) -> None:
    record = {"prompt": prompt, "completion": "4"}
    groups = {
        "file": FieldMap().sample(record).group,
        "server": parse_score_request(orjson.dumps({"samples": [record]}))[0][0].group,
        "trl": _trl_group(prompt),
        "verl": verl._sample("gsm8k", "4", "4", {"prompt": prompt}).group,
    }
    assert groups == dict.fromkeys(groups, prompt_group(prompt))  # type: ignore[arg-type]
    assert prompt_group(CHAT) != prompt_group([*CHAT[:1], {"role": "user", "content": "3+3?"}])
