"""Core types, the Reward protocol, the registry and the combinators (``combinators``,
``gated``, ``hierarchy``)."""

from rewardsmith.core.combinators import (
    Combinator,
    Constant,
    Gate,
    Max,
    Min,
    Product,
    Schedule,
    Shape,
    Sum,
)
from rewardsmith.core.gated import GatedAggregate
from rewardsmith.core.hierarchy import Hierarchy, Level
from rewardsmith.core.namespace import R
from rewardsmith.core.registry import Entry, NoParams, Paper, Params, catalog, register
from rewardsmith.core.reward import (
    GroupReward,
    ItemReward,
    Reward,
    score_item,
    set_step,
    set_strict,
)
from rewardsmith.core.types import ItemError, Sample, Score, Status, Tokens

__all__ = [
    "Combinator",
    "Constant",
    "Entry",
    "Gate",
    "GatedAggregate",
    "GroupReward",
    "Hierarchy",
    "ItemError",
    "ItemReward",
    "Level",
    "Max",
    "Min",
    "NoParams",
    "Paper",
    "Params",
    "Product",
    "R",
    "Reward",
    "Sample",
    "Schedule",
    "Score",
    "Shape",
    "Status",
    "Sum",
    "Tokens",
    "catalog",
    "register",
    "score_item",
    "set_step",
    "set_strict",
]
