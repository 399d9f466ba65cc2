"""Search-agent rewards: trajectory reading, MASH, ParallelSearch, ReSeek, MaskSearch,
O²-Searcher, SubSearch."""

from rewardsmith.verifiable.search.mash import MashParams, SearchCountPenalty, penalty
from rewardsmith.verifiable.search.masksearch import MaskRecall, MaskRecallParams
from rewardsmith.verifiable.search.o2 import (
    O2Format,
    O2Searcher,
    O2SearcherParams,
    bullet_format_score,
)
from rewardsmith.verifiable.search.parallel import ParallelSearch, ParallelSearchParams
from rewardsmith.verifiable.search.reseek import ReSeekParams, ReSeekString
from rewardsmith.verifiable.search.subsearch import SubSearch, SubSearchParams
from rewardsmith.verifiable.search.trajectory import (
    DEFAULT_SEARCH_TOOLS,
    Retrieved,
    Trajectory,
    answered_rounds,
    as_text,
    read_trajectory,
    retrieved,
    spans_from_mask,
    split_queries,
)

__all__ = [
    "DEFAULT_SEARCH_TOOLS",
    "MashParams",
    "MaskRecall",
    "MaskRecallParams",
    "O2Format",
    "O2Searcher",
    "O2SearcherParams",
    "ParallelSearch",
    "ParallelSearchParams",
    "ReSeekParams",
    "ReSeekString",
    "Retrieved",
    "SearchCountPenalty",
    "SubSearch",
    "SubSearchParams",
    "Trajectory",
    "answered_rounds",
    "as_text",
    "bullet_format_score",
    "penalty",
    "read_trajectory",
    "retrieved",
    "spans_from_mask",
    "split_queries",
]
