"""Scale-out with Ray: score a rollout file through Ray Data (``score --engine ray``).

Ray Data reads the file on the cluster (``read_text`` for JSONL, ``read_parquet``), and
``map_batches`` runs a pool of actors that each hold the same Reward object the local
engine uses (it pickles) and call the same ``process_block``: parse, score the block as
one batch (GRPO groups inside a block are seen together), render and count. Results
stream back to the driver in input order (``preserve_order``), so the output file and the
summary are those of the local engine, row for row.

Row numbers in error messages count from the start of each Ray block, not of the file:
Ray does not carry line numbers. A saved Hugging Face dataset folder is not read here;
export it to Parquet first.

Example:
    >>> from rewardsmith.integrations.ray import score_file  # doctest: +SKIP
    >>> for done in score_file("rollouts.jsonl", reward, actors=4): ...  # doctest: +SKIP
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardsmith.core import Reward
from rewardsmith.errors import InputError, MissingExtraError
from rewardsmith.rollouts.fields import FieldMap
from rewardsmith.rollouts.read import Block, detect_format
from rewardsmith.rollouts.stream import Processed, process_block
from rewardsmith.rollouts.write import Renderer

__all__ = ["init", "score_file"]


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError("ray", "ray") from None
    return ray


def init(address: str | None = None, num_cpus: int | None = None, **kwargs: Any) -> None:
    """Connect to a Ray cluster (``address``), or start a local one, unless already up."""
    ray = _ray()
    if ray.is_initialized():
        return
    if address is None:
        kwargs.setdefault("num_cpus", num_cpus)
    kwargs.setdefault("include_dashboard", False)
    kwargs.setdefault("log_to_driver", False)
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as exc:  # no cluster at that address: a usage error, one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"ray address {address!r}: {first}") from None


class _Scorer:
    """One Ray Data actor: holds the reward, turns each Ray batch into a Processed block."""

    def __init__(
        self, reward: Reward, fields: FieldMap, renderer: Renderer | None, fmt: str
    ) -> None:
        self.reward, self.fields, self.renderer, self.fmt = reward, fields, renderer, fmt

    def __call__(self, batch: Any) -> dict[str, list[bytes]]:
        if self.fmt == "jsonl":
            lines = [str(line).encode() for line in batch["text"]]
            block = Block(0, list(range(1, len(lines) + 1)), lines)
        else:
            block = Block(0, records=batch.to_pylist())
        done = process_block(block, self.reward, self.fields, self.renderer)
        return {"processed": [pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL)]}


def _cpus_per_actor(ray: Any, actors: int) -> float:
    """At most one CPU per actor, leaving one for the read tasks (else Ray Data stalls)."""
    total = float(ray.cluster_resources().get("CPU", actors + 1))
    return max(0.1, min(1.0, (total - 1) / actors))


def score_file(
    path: str | Path,
    reward: Reward,
    *,
    actors: int = 2,
    chunk_size: int = 4096,
    fields: FieldMap | None = None,
    renderer: Renderer | None = None,
) -> Iterator[Processed]:
    """Score ``path`` on Ray with ``actors`` actors; yield each block's result in order.

    Starts a local Ray instance when none is connected (call ``init`` to join a cluster).
    """
    path = Path(path)
    fmt = detect_format(path) if path.exists() else None
    if fmt not in ("jsonl", "parquet"):
        raise InputError(f"{path}: --engine ray reads .jsonl and .parquet files")
    ray = _ray()
    init(num_cpus=actors + 1)  # one CPU beyond the actors, for the read tasks
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    if fmt == "jsonl":
        ds = ray.data.read_text(str(path), drop_empty_lines=True)
        batch_format = "numpy"
    else:
        ds = ray.data.read_parquet(str(path))
        batch_format = "pyarrow"
    scored = ds.map_batches(
        _Scorer,
        fn_constructor_args=(reward, fields or FieldMap(), renderer, fmt),
        batch_size=chunk_size,
        batch_format=batch_format,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=_cpus_per_actor(ray, actors),
    )
    for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
        for blob in batch["processed"]:
            yield pickle.loads(blob)
